"""Facts of the data sets this repository reads: file layouts, class names, normalisation.

One home for them: the pipelines (src/dataset.py), predict.py, preprocess.py, the Fashion-MNIST
converter and the test data generators all read these, so a layout or a statistic is stated once.
"""

# CIFAR-10 binary layout: records of 1 label byte + a 3x32x32 CHW uint8 image, exactly 10,000 per file.
CIFAR_SIDE = 32
CIFAR_RECORD_BYTES = 1 + 3 * CIFAR_SIDE * CIFAR_SIDE
CIFAR_RECORDS_PER_FILE = 10000
CIFAR_TRAIN_PREFIX = "data_batch_"  # data_batch_1.bin ... data_batch_5.bin (6 for Fashion-MNIST)
CIFAR_TEST_FILE = "test_batch.bin"
# the folders of the CIFAR-10 download (training and test files together) and of the official split
CIFAR_STOCK_DIR, CIFAR_VERIFY_DIR = "cifar-10-batches-bin", "cifar-10-verify-bin"

# Fashion-MNIST's IDX files, and the CIFAR-layout folders src/tools/convert_fashion_mnist.py writes
FASHION_MNIST_IDX = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                     "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
FASHION_MNIST_SIDE = 28
FASHION_MNIST_TRAIN_DIR, FASHION_MNIST_TEST_DIR = "fashion-mnist-batches-bin", "fashion-mnist-verify-bin"

CLASS_NAMES = {
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
}
# Per-channel (mean, std) of the data sets stored in the CIFAR-10 binary layout, on [0, 1] pixels.
CIFAR_FORMAT_STATS = {
    "cifar10": ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]),
    "fashion_mnist": ([0.2860] * 3, [0.3530] * 3),  # grey images repeated over 3 channels
}
# Zero border (pixels per side) around the originals stored in the CIFAR-10 layout: the converter pads
# Fashion-MNIST's 28x28 images to 32x32; image_size 28 crops the border away again.
STORED_BORDER = {"fashion_mnist": (CIFAR_SIDE - FASHION_MNIST_SIDE) // 2}

# ImageNet-style class folders: <root>/train/<class>/*.JPEG and <root>/validation_preprocess/<class>/*.JPEG
IMAGENET_TRAIN_DIR, IMAGENET_EVAL_DIR = "train", "validation_preprocess"
IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
IMAGENET_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]
# The colour transparent pixels of a user's image are composited over where it is not white, read_image's
# default (src/image_files.py): Fashion-MNIST's garments are light on black.
TRANSPARENCY_BACKGROUND = {"fashion_mnist": (0, 0, 0)}
