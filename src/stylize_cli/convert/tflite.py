"""Read the constant tensors of a TensorFlow Lite flatbuffer, dequantized to float32.

No TensorFlow and no TFLite runtime: the pure-Python `tflite` package gives us
the flatbuffer schema, and the graph's weights are just named constants. We
never execute the TFLite graph; our own nn.Modules reproduce it.

Dequantization follows the TFLite spec: `real = scale * (q - zero_point)`,
per tensor or per channel along `quantized_dimension`; float16 is widened.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import WeightsError

_NUMPY = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}


def read_constants(path: str | Path) -> dict[str, np.ndarray]:
    """Every constant tensor by name: float32 for weights, integers left as they are."""
    import struct

    import tflite

    path = Path(path)
    data = path.read_bytes()
    if data[4:8] != b"TFL3":
        raise WeightsError(f"{path}: not a TensorFlow Lite file (no TFL3 identifier)")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        graph = model.Subgraphs(0)
        tensors = {}
        for i in range(graph.TensorsLength()):
            tensor = graph.Tensors(i)
            buffer = model.Buffers(tensor.Buffer())
            if buffer is None or not buffer.DataLength():
                continue
            dtype = _NUMPY.get(tensor.Type())
            if dtype is None:
                raise ValueError(f"tensor {i} has unsupported type {tensor.Type()}")
            shape = tuple(tensor.ShapeAsNumpy().tolist()) if tensor.ShapeLength() else ()
            raw = np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype).reshape(shape)
            tensors[tensor.Name().decode()] = _dequantize(raw, tensor.Quantization())
    except (ValueError, IndexError, AttributeError, TypeError, UnicodeDecodeError, struct.error) as exc:
        raise WeightsError(f"{path}: malformed TensorFlow Lite file ({exc})") from None
    return tensors


def _dequantize(raw: np.ndarray, quant: object) -> np.ndarray:
    if raw.dtype == np.float16:
        return raw.astype(np.float32)
    if quant is None or not quant.ScaleLength():  # type: ignore[attr-defined]
        return raw
    scale = quant.ScaleAsNumpy().astype(np.float64)  # type: ignore[attr-defined]
    zero = quant.ZeroPointAsNumpy().astype(np.float64) if quant.ZeroPointLength() else 0.0  # type: ignore[attr-defined]
    shape = [1] * raw.ndim
    if raw.ndim and scale.size > 1:
        shape[quant.QuantizedDimension()] = -1  # type: ignore[attr-defined]
    scale = np.reshape(scale, shape) if raw.ndim else scale
    zero = np.reshape(zero, shape) if raw.ndim and np.ndim(zero) else zero
    return ((raw.astype(np.float64) - zero) * scale).astype(np.float32)


def take(tensors: dict[str, np.ndarray], name: str, path: str | Path) -> np.ndarray:
    """A named constant, or a clear error naming the file when a tampered graph lacks it."""
    if name not in tensors:
        raise WeightsError(f"{path}: expected tensor '{name}' is missing; not the model we know")
    return tensors[name]
