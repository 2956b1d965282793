"""Training: the loop around Model.train (trainer), its optimizer step (train_step), callbacks, EMA, curves."""
