"""As quant_onnx.py with reduce_range=True (7-bit weights: no u8*s8 pair-sum saturation on AVX2 CPUs without VNNI).
Run: cd /tmp/p16 && venv/bin/python quant_rr.py"""
import onnx
from onnxruntime.quantization import quantize_dynamic, QuantType
src = "/tmp/p16/onnx/minilm_opt.onnx"
m = onnx.load(src)
mm = [n.name for n in m.graph.node if n.op_type == "MatMul" and "feedforward" in n.name]
for name, keep in (("rr_ffn8", mm), ("rr_int8", None)):
    quantize_dynamic(src, f"/tmp/p16/onnx/minilm_{name}.onnx", weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=True, nodes_to_quantize=keep, op_types_to_quantize=["MatMul"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
