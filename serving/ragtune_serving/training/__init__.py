"""Fine-tuning LoRA adapters: `ragtune train` and the training Jobs the operator creates."""
