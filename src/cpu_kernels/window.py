"""The geometry of a 3x3 window at stride 1 or 2, as the kernels and their cells share it.

"same" is TF's (MindSpore's pad_mode="same"): the output is ceil(length / stride) long and an odd
total padding puts its extra pixel at the end; "symmetric" pads one pixel on both sides (PyTorch,
timm, mindcv).
"""


def output_length(length, stride, same_padding):
    """Output pixels along an axis of ``length`` input pixels."""
    return -(-length // stride) if same_padding else (length - 1) // stride + 1


def padding(length, stride, same_padding):
    """(before, after) pixels of padding along an axis of ``length`` input pixels."""
    if not same_padding:
        return 1, 1
    total = max((output_length(length, stride, True) - 1) * stride + 3 - length, 0)
    return total // 2, total - total // 2
