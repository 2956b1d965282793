"""Deployment: export to MINDIR/ONNX/AIR (exporter), predict.py (predictor), the C++ harness's files (offline_io)."""
