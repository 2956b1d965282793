#include "inc/image_input.h"

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <stdexcept>

#include <jpeglib.h>

#include "inc/utils.h"

namespace infer {
namespace {
struct JpegErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void JpegErrorExit(j_common_ptr cinfo) {
  auto *err = reinterpret_cast<JpegErrorManager *>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

// OpenCV's per-destination-index source offset and 11-bit fixed-point weights for one axis.
// `clamp_weights` is OpenCV's horizontal rule (weights reset at the borders); vertically it only
// clamps the rows it reads.
void LinearCoefficients(int dst_size, int src_size, bool clamp_weights, std::vector<int> *offsets,
                        std::vector<int16_t> *weights) {
  const double scale = 1. / (static_cast<double>(dst_size) / src_size);
  constexpr float kOne = 2048.f;
  offsets->resize(dst_size);
  weights->resize(2 * dst_size);
  for (int d = 0; d < dst_size; ++d) {
    float f = static_cast<float>((d + 0.5) * scale - 0.5);
    int s = static_cast<int>(std::floor(f));
    f -= s;
    if (clamp_weights && s < 0) {
      f = 0, s = 0;
    }
    if (clamp_weights && s >= src_size - 1) {
      f = 0, s = src_size - 1;
    }
    (*offsets)[d] = s;
    (*weights)[2 * d] = static_cast<int16_t>(std::lrint((1.f - f) * kOne));
    (*weights)[2 * d + 1] = static_cast<int16_t>(std::lrint(f * kOne));
  }
}
}  // namespace

std::vector<LabelledImage> ListImageFolder(const std::string &root) {
  auto classes = ListEntries(root, true);
  if (classes.empty()) {
    throw std::runtime_error(root + " has no class folders (expected <root>/<class>/<image>.JPEG)");
  }
  std::vector<LabelledImage> images;
  for (size_t label = 0; label < classes.size(); ++label) {
    for (const auto &name : ListEntries(root + "/" + classes[label], false)) {
      images.push_back({root + "/" + classes[label] + "/" + name, static_cast<int>(label)});
    }
  }
  if (images.empty()) {
    throw std::runtime_error("no image files in the class folders of " + root);
  }
  return images;
}

RgbImage DecodeJpeg(const std::string &path) {
  std::vector<char> data = ReadFile(path);
  if (data.size() < 3 || static_cast<uint8_t>(data[0]) != 0xFF || static_cast<uint8_t>(data[1]) != 0xD8) {
    throw std::runtime_error(path + " is not a JPEG file (the C++ harness decodes JPEG only; "
                             "use preprocess.py for other formats)");
  }
  jpeg_decompress_struct cinfo;
  JpegErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = JpegErrorExit;
  RgbImage image;
  std::vector<uint8_t> row;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    throw std::runtime_error("cannot decode " + path + ": " + err.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<unsigned char *>(data.data()), data.size());
  jpeg_read_header(&cinfo, TRUE);
  const bool cmyk = cinfo.num_components == 4;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  image.width = static_cast<int>(cinfo.output_width);
  image.height = static_cast<int>(cinfo.output_height);
  image.pixels.resize(static_cast<size_t>(image.width) * image.height * 3);
  row.resize(static_cast<size_t>(image.width) * cinfo.output_components);
  while (cinfo.output_scanline < cinfo.output_height) {
    uint8_t *out = image.pixels.data() + static_cast<size_t>(cinfo.output_scanline) * image.width * 3;
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    for (int x = 0; x < image.width; ++x) {
      if (cmyk) {  // (inverted) CMYK -> RGB as MindSpore's decoder: channel * K / 255
        const int k = row[4 * x + 3];
        for (int c = 0; c < 3; ++c) out[3 * x + c] = static_cast<uint8_t>(row[4 * x + c] * k / 255);
      } else {
        for (int c = 0; c < 3; ++c) out[3 * x + c] = row[3 * x + c];
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return image;
}

RgbImage ResizeBilinear(const RgbImage &src, int width, int height) {
  constexpr int kChannels = 3;
  std::vector<int> x_offsets, y_offsets;
  std::vector<int16_t> alpha, beta;
  LinearCoefficients(width, src.width, true, &x_offsets, &alpha);
  LinearCoefficients(height, src.height, false, &y_offsets, &beta);

  // horizontal pass of source row y (clamped), in 2048ths; output rows step through the source rows
  // in order, so the last two passes are kept and each source row is resized once
  std::vector<int> passes[2] = {std::vector<int>(width * kChannels), std::vector<int>(width * kChannels)};
  int pass_rows[2] = {-1, -1};
  auto horizontal_pass = [&](int y) -> const std::vector<int> & {
    y = std::clamp(y, 0, src.height - 1);
    for (int k = 0; k < 2; ++k) {
      if (pass_rows[k] == y) return passes[k];
    }
    const int slot = pass_rows[0] < pass_rows[1] ? 0 : 1;  // the lower row is not needed again
    const uint8_t *s = src.pixels.data() + static_cast<size_t>(y) * src.width * kChannels;
    for (int x = 0; x < width; ++x) {
      const int sx = x_offsets[x];
      for (int c = 0; c < kChannels; ++c) {
        const int left = s[sx * kChannels + c];
        passes[slot][x * kChannels + c] = sx + 1 < src.width
                                              ? left * alpha[2 * x] + s[(sx + 1) * kChannels + c] * alpha[2 * x + 1]
                                              : left * 2048;
      }
    }
    pass_rows[slot] = y;
    return passes[slot];
  };
  RgbImage dst;
  dst.width = width;
  dst.height = height;
  dst.pixels.resize(static_cast<size_t>(width) * height * kChannels);
  for (int y = 0; y < height; ++y) {
    const std::vector<int> &row0 = horizontal_pass(y_offsets[y]);
    const std::vector<int> &row1 = horizontal_pass(y_offsets[y] + 1);
    const int b0 = beta[2 * y], b1 = beta[2 * y + 1];
    uint8_t *out = dst.pixels.data() + static_cast<size_t>(y) * width * kChannels;
    for (int i = 0; i < width * kChannels; ++i) {  // OpenCV's vertical 8-bit rounding
      const int value = (((b0 * (row0[i] >> 4)) >> 16) + ((b1 * (row1[i] >> 4)) >> 16) + 2) >> 2;
      out[i] = static_cast<uint8_t>(std::clamp(value, 0, 255));
    }
  }
  return dst;
}

std::vector<float> PreprocessImage(const RgbImage &image, int resize, int crop_height, int crop_width,
                                   const float mean[3], const float std[3]) {
  int width = resize, height = resize;
  if (image.height < image.width) {
    width = static_cast<int>(std::floor(static_cast<float>(image.width) / image.height * resize));
  } else {
    height = static_cast<int>(std::floor(static_cast<float>(image.height) / image.width * resize));
  }
  const RgbImage resized =
      (width == image.width && height == image.height) ? image : ResizeBilinear(image, width, height);
  if (resized.width < crop_width || resized.height < crop_height) {
    throw std::runtime_error("resized image " + std::to_string(resized.width) + "x" + std::to_string(resized.height) +
                             " is smaller than the model input " + std::to_string(crop_width) + "x" +
                             std::to_string(crop_height) + " (raise --resize)");
  }
  const int left = (resized.width - crop_width) / 2, top = (resized.height - crop_height) / 2;
  std::vector<float> tensor(static_cast<size_t>(3) * crop_height * crop_width);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < crop_height; ++y) {
      const uint8_t *in = resized.pixels.data() + (static_cast<size_t>(top + y) * resized.width + left) * 3 + c;
      float *out = tensor.data() + (static_cast<size_t>(c) * crop_height + y) * crop_width;
      for (int x = 0; x < crop_width; ++x) out[x] = (static_cast<float>(in[3 * x]) - mean[c]) / std[c];
    }
  }
  return tensor;
}
}  // namespace infer
