#!/usr/bin/env bash
# Mutation testing with mutmut over the modules whose logic the tests must pin down: ranking
# (store/search.py) and the digest (store/digest/{selection,schedule,service}.py). Each mutant is
# run against the tests that reach the mutated function (mutmut records which), as configured under
# [tool.mutmut] in pyproject.toml. Not part of .ci/run: all ~2,100 mutants take hours on 2 cores.
#
#   scripts/mutation.sh                      a sample of 40 mutants per module (about 15 minutes on 2 cores)
#   scripts/mutation.sh --sample 100 --seed 7
#   scripts/mutation.sh --all                every mutant
#   scripts/mutation.sh --module schedule    only some modules: search, selection, schedule, service
#
# It starts from an empty mutants/ folder (git-ignored) unless --keep is given, prints each
# module's score (killed and timed out over all tried) and the survivors; `mutmut show NAME`
# prints a survivor's diff.
set -euo pipefail
cd "$(dirname "$0")/.."

sample=40
seed=1
keep=0
modules=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sample) sample=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --all) sample=0; shift ;;
    --keep) keep=1; shift ;;
    --module) modules+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#modules[@]} -gt 0 ] || modules=(search selection schedule service)

python=.venv/bin/python
mutmut=.venv/bin/mutmut
[ -x "$mutmut" ] || { echo "error: mutmut is not installed: run bash scripts/setup.sh (it is in the dev extras)" >&2; exit 2; }
[ "$keep" = 1 ] || rm -rf mutants

# 1. Generate the mutants (mutmut writes every mutant's name into mutants/<file>.meta).
"$python" - <<'EOF'
from mutmut.__main__ import create_mutants
from mutmut.mutation.trampoline import set_mutant_under_test
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir

set_mutant_under_test("mutant_generation")
copy_src_dir()
copy_also_copy_files()
stats = create_mutants(2)
print(f"generated mutants for {stats.mutated} files")
EOF

# 2. Choose the mutants to run: every one, or a seeded sample of each module.
names=$("$python" - "$sample" "$seed" "${modules[@]}" <<'EOF'
import json
import random
import sys

sample, seed, modules = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
files = {"search": "store/search.py", "selection": "store/digest/selection.py",
         "schedule": "store/digest/schedule.py", "service": "store/digest/service.py"}
chosen = []
for module in modules:
    if module not in files:
        sys.exit(f"error: unknown module {module}: use one of {', '.join(files)}")
    with open(f"mutants/{files[module]}.meta", encoding="utf-8") as meta:
        keys = sorted(json.load(meta)["exit_code_by_key"])
    chosen += keys if sample <= 0 or sample >= len(keys) else random.Random(f"{seed}-{module}").sample(keys, sample)
print("\n".join(chosen))
EOF
)
count=$(printf '%s\n' "$names" | wc -l)
echo "running $count mutants (sample ${sample:-all} per module, seed $seed): ${modules[*]}"

# 3. Run them (mutmut first runs the selected tests once to learn which test reaches which function).
# shellcheck disable=SC2086
"$mutmut" run --max-children "${MUTATION_WORKERS:-2}" $names > mutants/run.log 2>&1 || {
  tail -n 30 mutants/run.log >&2
  echo "error: mutmut failed (the whole log is in mutants/run.log)" >&2
  exit 1
}

# 4. The score of each module over the mutants tried, and the survivors.
"$python" - $names <<'EOF'
import json
import sys
from collections import Counter

from mutmut.stats import status_by_exit_code

tried = set(sys.argv[1:])
files = {"store.search": "store/search.py", "store.digest.selection": "store/digest/selection.py",
         "store.digest.schedule": "store/digest/schedule.py", "store.digest.service": "store/digest/service.py"}
survivors = []
print(f"{'module':<28} {'tried':>5} {'killed':>6} {'timeout':>7} {'survived':>8} {'no tests':>8} {'score':>6}")
for module, path in files.items():
    with open(f"mutants/{path}.meta", encoding="utf-8") as meta:
        codes = json.load(meta)["exit_code_by_key"]
    statuses = Counter()
    for key, code in codes.items():
        if key in tried:
            status = status_by_exit_code[code]
            statuses[status] += 1
            if status in ("survived", "no tests", "suspicious"):
                survivors.append(f"{status}: {key}")
    total = sum(statuses.values())
    if not total:
        continue
    caught = statuses["killed"] + statuses["timeout"]
    print(f"{path:<28} {total:>5} {statuses['killed']:>6} {statuses['timeout']:>7} {statuses['survived']:>8} "
          f"{statuses['no tests']:>8} {100 * caught / total:>5.1f}%")
print()
print("\n".join(survivors) if survivors else "no survivors")
EOF
