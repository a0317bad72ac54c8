"""Feature extensions, one package each (``insights``, ``saved``, later ``digest``).

Every package here with a ``setup`` function is loaded at start-up, so adding a feature is adding
its package; nothing central has to list it. A package whose name starts with "_" is skipped.
"""

from __future__ import annotations

import pkgutil


def extension_names() -> list[str]:
    return sorted(
        f"{__name__}.{module.name}"
        for module in pkgutil.iter_modules(__path__)
        if module.ispkg and not module.name.startswith("_")
    )
