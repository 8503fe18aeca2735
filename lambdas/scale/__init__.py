"""Runtime code of the scale stage: the acceptance decisions for quantized and fine-tuned models."""
