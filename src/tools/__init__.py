"""Stand-alone command-line tools (python -m src.tools.<name>): weight conversion from timm and mindcv,
the Fashion-MNIST converter, the model summary. Nothing on the train/eval path imports them."""
