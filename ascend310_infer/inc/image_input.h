/**
 * ImageNet-style class folders of JPEG files -> the float32 NCHW tensors eval.py feeds the network.
 *
 * The steps are those of eval.py's pipeline (MindSpore Decode, Resize(shorter side), CenterCrop,
 * Normalize, HWC2CHW) and reproduce its pixels: libjpeg with default settings (as MindSpore decodes),
 * and a bilinear resize with OpenCV's INTER_LINEAR fixed-point arithmetic (what MindSpore's Resize runs).
 */
#ifndef MOBILENETV1_INFER_IMAGE_INPUT_H_
#define MOBILENETV1_INFER_IMAGE_INPUT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace infer {
struct LabelledImage {
  std::string path;
  int label;  // index of the class folder among the sorted folder names, as ImageFolderDataset
};

// Every file of every class folder under `root`, classes and files in sorted order; throws when
// `root` has no class folders or no files.
std::vector<LabelledImage> ListImageFolder(const std::string &root);

// An 8-bit RGB image, rows of width * 3 bytes.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

// Decodes a JPEG file to RGB (grey and CMYK converted as MindSpore's Decode does); throws naming the file.
RgbImage DecodeJpeg(const std::string &path);

// Bilinear resize, bit-exact with OpenCV's cv::resize(..., INTER_LINEAR) on 8-bit images.
RgbImage ResizeBilinear(const RgbImage &src, int width, int height);

// eval.py's preprocessing: shorter side to `resize` (the longer one scaled and floored), center crop
// `crop_height` x `crop_width`, (pixel - mean) / std per channel, HWC -> CHW float32.
std::vector<float> PreprocessImage(const RgbImage &image, int resize, int crop_height, int crop_width,
                                   const float mean[3], const float std[3]);
}  // namespace infer

#endif  // MOBILENETV1_INFER_IMAGE_INPUT_H_
