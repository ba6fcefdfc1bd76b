"""Step 2 of convert_onnx.py: ORT transformer fusions and dynamic int8. Run: venv/bin/python optimize_onnx.py"""
import onnx
from onnxruntime.transformers import optimizer
from onnxruntime.transformers.fusion_options import FusionOptions
opt = optimizer.optimize_model("/tmp/p16/onnx/minilm.onnx", model_type="bert", num_heads=12, hidden_size=384,
                               opt_level=0)
print("fused ops:", opt.get_fused_operator_statistics())
opt.save_model_to_file("/tmp/p16/onnx/minilm_opt.onnx")

from onnxruntime.quantization import quantize_dynamic, QuantType
for src, dst in (("minilm", "minilm_int8"), ("minilm_opt", "minilm_opt_int8")):
    quantize_dynamic(f"/tmp/p16/onnx/{src}.onnx", f"/tmp/p16/onnx/{dst}.onnx", weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
from collections import Counter
for n in ("minilm", "minilm_opt", "minilm_opt_int8"):
    m = onnx.load(f"/tmp/p16/onnx/{n}.onnx")
    print(n, Counter(x.op_type for x in m.graph.node).most_common(14))
