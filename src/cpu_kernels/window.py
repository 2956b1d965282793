"""The geometry of a 3x3 window at stride 1 or 2, and the op of a training kernel that slides one.

"same" is TF's (MindSpore's pad_mode="same"): the output is ceil(length / stride) long and an odd
total padding puts its extra pixel at the end; "symmetric" pads one pixel on both sides (PyTorch,
timm, mindcv). window.h is the C++ side.
"""
from src.cpu_kernels.build import weight_op


def output_length(length, stride, same_padding):
    """Output pixels along an axis of ``length`` input pixels."""
    return -(-length // stride) if same_padding else (length - 1) // stride + 1


def variant(stride, same_padding):
    """The suffix of a windowed kernel's entry points: S1, S2Same or S2Symmetric."""
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2, got {stride}")
    return "S1" if stride == 1 else ("S2Same" if same_padding else "S2Symmetric")


def windowed_output_shape(stride, conv_padding):
    """The output shape [N, Co, OH, OW] of a windowed op, as a function of the shapes of x and w."""
    same = conv_padding == "same"

    def output_shape(x_shape, w_shape):
        return (x_shape[0], w_shape[0], output_length(x_shape[2], stride, same),
                output_length(x_shape[3], stride, same))

    return output_shape


def windowed_weight_op(library, kernel, stride, conv_padding):
    """The differentiable op of (x [N, C, H, W], w [Co, ...]) -> [N, Co, OH, OW] whose forward and
    backward are ``library``'s ``{kernel}Forward{variant}`` and ``{kernel}Backward{variant}``."""
    suffix = variant(stride, conv_padding == "same")
    return weight_op(library, f"{kernel}Forward{suffix}", f"{kernel}Backward{suffix}",
                     windowed_output_shape(stride, conv_padding))
