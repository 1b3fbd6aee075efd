"""The rule tests' real PPE model is the session-wide `helmet_onnx` fixture of tests/conftest.py
(tests/fixtures/helmet_model.py): helmet-detector's checkpoint exported once per session."""
