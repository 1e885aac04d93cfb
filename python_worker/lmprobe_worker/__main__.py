"""``python -m lmprobe_worker``: bind, print the endpoint as one JSON line, serve until told to stop."""

import os

# Models are resolved to local folders by the TypeScript side; never let a stray hub id go online.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from .handlers import HANDLERS, preload  # noqa: E402
from .startup import main  # noqa: E402

main(HANDLERS, preload)
