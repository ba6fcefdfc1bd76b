"""Int8 variants of onnx/minilm_opt.onnx that spare what hurts accuracy. Dynamic quantization (int8 weights per
channel, activations u8 per tensor at run time):
  w8: only the weight matmuls (QKV/output Gemms and FFN MatMuls), attention score/value MatMuls stay float32;
  ffn8: only the FFN's two MatMuls per layer; ffn1_8: only the FFN intermediate MatMul (first of the two).
Run: cd /tmp/p16 && venv/bin/python quant_onnx.py"""
import onnx
from onnxruntime.quantization import quantize_dynamic, QuantType
src = "/tmp/p16/onnx/minilm_opt.onnx"
m = onnx.load(src)
inits = {i.name for i in m.graph.initializer}
mm = [n for n in m.graph.node if n.op_type in ("MatMul", "Gemm")]
weight_mm = [n.name for n in mm if any(i in inits or "ReadVariableOp" in i for i in n.input[1:2])]
ffn = [n.name for n in mm if "feedforward" in n.name]
ffn1 = [n for n in ffn if "intermediate" in n]
print(len(mm), "matmuls;", len(weight_mm), "with weights;", len(ffn), "ffn")
for name, keep in (("w8", weight_mm), ("ffn8", ffn), ("ffn1_8", ffn1)):
    quantize_dynamic(src, f"/tmp/p16/onnx/minilm_{name}.onnx", weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gemm"], nodes_to_quantize=keep,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
