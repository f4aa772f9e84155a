"""torch training: networks, losses, augmentation, teachers, one script per model (`python -m
training.detector|landmarks|embedder --config training/configs/FILE`), evaluation, ONNX export and
`python -m training.publish RUN_DIR` (a run's weights into pipeline/weights/)."""
