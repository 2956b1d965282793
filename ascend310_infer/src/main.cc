/**
 * MobileNetV1 inference with the MindSpore C++ API (include/api: Model, Context, MSTensor).
 *
 * Inputs: every preprocessed tensor (*.bin, float32 NCHW, written by preprocess.py) in --input0_path,
 * or (--image_path) an ImageNet-style folder of class folders of JPEG files, decoded and preprocessed
 * here as eval.py does (resize the shorter side to --resize, center crop to the model input,
 * normalise with the ImageNet mean/std); their labels go to --label_file for postprocess.py.
 * Runs the model on --device_type (Ascend, GPU or CPU) and writes the raw float32 logits to
 * <result_dir>/<input name>_0.bin, plus a timing summary.
 */
#include <sys/time.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "include/api/context.h"
#include "include/api/model.h"
#include "include/api/status.h"
#include "include/api/types.h"
#include "inc/image_input.h"
#include "inc/utils.h"

namespace {
// eval.py's ImageNet normalisation (src/dataset.py IMAGENET_MEAN / IMAGENET_STD), on 0-255 pixels
const float kImageNetMean[3] = {0.485f * 255, 0.456f * 255, 0.406f * 255};
const float kImageNetStd[3] = {0.229f * 255, 0.224f * 255, 0.225f * 255};

struct Input {
  std::string name;  // result file stem
  std::string path;
  int label;  // -1 for preprocessed tensors (their labels come from preprocess.py)
};

double NowMs() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

std::shared_ptr<mindspore::Context> MakeContext(const std::string &device, int device_id, int threads) {
  auto context = std::make_shared<mindspore::Context>();
  context->SetThreadNum(threads);
  auto &devices = context->MutableDeviceInfo();
  if (device == "Ascend") {
    auto info = std::make_shared<mindspore::AscendDeviceInfo>();
    info->SetDeviceID(device_id);
    devices.push_back(info);
  } else if (device == "GPU") {
    auto info = std::make_shared<mindspore::GPUDeviceInfo>();
    info->SetDeviceID(device_id);
    devices.push_back(info);
  } else if (device == "CPU") {
    devices.push_back(std::make_shared<mindspore::CPUDeviceInfo>());
  } else {
    throw std::runtime_error("--device_type must be Ascend, GPU or CPU, got '" + device + "'");
  }
  return context;
}

std::string ShapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    text += (i ? "," : "") + std::to_string(shape[i]);
  }
  return text + "]";
}

std::vector<Input> ListInputs(const infer::Flags &flags) {
  std::vector<Input> inputs;
  if (!flags.Get("image_path").empty()) {
    char name[32];
    for (const auto &image : infer::ListImageFolder(flags.Get("image_path"))) {
      std::snprintf(name, sizeof(name), "img_%06zu", inputs.size());  // preprocess.py's names and order
      inputs.push_back({name, image.path, image.label});
    }
    return inputs;
  }
  for (const auto &file : infer::ListFiles(flags.Get("input0_path"), ".bin")) {
    inputs.push_back({infer::Stem(file), file, -1});
  }
  if (inputs.empty()) {
    throw std::runtime_error("no .bin input tensors in " + flags.Get("input0_path") + " (run preprocess.py first)");
  }
  return inputs;
}

std::vector<char> LoadTensor(const Input &input, const std::vector<int64_t> &shape, int resize) {
  if (input.label < 0) {
    return infer::ReadFile(input.path);
  }
  auto tensor = infer::PreprocessImage(infer::DecodeJpeg(input.path), resize, static_cast<int>(shape[2]),
                                       static_cast<int>(shape[3]), kImageNetMean, kImageNetStd);
  const char *bytes = reinterpret_cast<const char *>(tensor.data());
  return std::vector<char>(bytes, bytes + tensor.size() * sizeof(float));
}

void WriteLabels(const std::string &path, const std::vector<Input> &inputs) {
  std::string json = "{";
  for (size_t i = 0; i < inputs.size(); ++i) {
    json += (i ? ", \"" : "\"") + inputs[i].name + "\": " + std::to_string(inputs[i].label);
  }
  json += "}";
  infer::WriteFile(path, json.data(), json.size());
}

int Run(const infer::Flags &flags) {
  const std::string model_path = flags.Get("mindir_path");
  const auto items = ListInputs(flags);
  const bool from_images = !flags.Get("image_path").empty();
  const int resize = std::stoi(flags.Get("resize"));
  const std::string dump_dir = flags.Get("input_dump_dir");
  infer::ReadFile(model_path);  // a clear error for a missing model file before Build
  mindspore::Model model;
  auto context = MakeContext(flags.Get("device_type"), std::stoi(flags.Get("device_id")),
                             std::stoi(flags.Get("thread_num")));
  double start = NowMs();
  auto status = model.Build(model_path, mindspore::ModelType::kMindIR, context);
  if (status != mindspore::kSuccess) {
    throw std::runtime_error("cannot build model " + model_path + ": " + status.ToString() +
                             " (the CPU runtime here needs a MINDIR converted from ONNX, see README)");
  }
  std::cout << "model built in " << NowMs() - start << " ms" << std::endl;
  auto inputs = model.GetInputs();
  if (inputs.size() != 1) {
    throw std::runtime_error("expected a model with one input, got " + std::to_string(inputs.size()));
  }
  if (from_images && (inputs[0].Shape().size() != 4 || inputs[0].Shape()[0] != 1 || inputs[0].Shape()[1] != 3)) {
    throw std::runtime_error("--image_path needs a model with input [1,3,H,W], this one has " +
                             ShapeText(inputs[0].Shape()));
  }
  double total_ms = 0, preprocess_ms = 0;
  for (const auto &item : items) {
    double load_start = NowMs();
    auto data = LoadTensor(item, inputs[0].Shape(), resize);
    preprocess_ms += NowMs() - load_start;
    if (data.size() != inputs[0].DataSize()) {
      throw std::runtime_error(item.path + " holds " + std::to_string(data.size()) + " bytes; the model input " +
                               ShapeText(inputs[0].Shape()) + " float32 needs " +
                               std::to_string(inputs[0].DataSize()));
    }
    if (!dump_dir.empty()) {
      infer::WriteFile(dump_dir + "/" + item.name + ".bin", data.data(), data.size());
    }
    std::memcpy(inputs[0].MutableData(), data.data(), data.size());
    std::vector<mindspore::MSTensor> outputs;
    double begin = NowMs();
    status = model.Predict(inputs, &outputs);
    total_ms += NowMs() - begin;
    if (status != mindspore::kSuccess) {
      throw std::runtime_error("inference failed on " + item.path + ": " + status.ToString());
    }
    auto out = outputs[0].Data();
    infer::WriteFile(flags.Get("result_dir") + "/" + item.name + "_0.bin", out.get(), outputs[0].DataSize());
  }
  if (from_images) {
    WriteLabels(flags.Get("label_file"), items);
    std::cout << "JPEG decode and preprocessing average time: " << preprocess_ms / items.size() << " ms; labels: "
              << flags.Get("label_file") << std::endl;
  }
  std::string summary = "NN inference cost average time: " + std::to_string(total_ms / items.size()) +
                        " ms of infer_count " + std::to_string(items.size());
  std::cout << summary << std::endl;
  infer::WriteFile(flags.Get("time_file"), summary.data(), summary.size());
  return 0;
}
}  // namespace

int main(int argc, char **argv) {
  infer::Flags flags({{"mindir_path", ""},
                      {"input0_path", "."},
                      {"image_path", ""},
                      {"resize", "256"},
                      {"label_file", "./labels.json"},
                      {"input_dump_dir", ""},
                      {"device_type", "CPU"},
                      {"device_id", "0"},
                      {"thread_num", "2"},
                      {"result_dir", "./result_Files"},
                      {"time_file", "./time_Result/test_perform_static.txt"}});
  std::string error = flags.Parse(argc, argv);
  if (!error.empty() || flags.Get("mindir_path").empty()) {
    std::cerr << "error: " << (error.empty() ? "--mindir_path is required" : error) << "\nusage: " << argv[0]
              << " --mindir_path MODEL.mindir (--input0_path DIR | --image_path DIR [--resize 256]"
                 " [--label_file FILE]) [--device_type CPU|GPU|Ascend] [--device_id N] [--thread_num N]"
                 " [--result_dir DIR] [--time_file FILE] [--input_dump_dir DIR]"
              << std::endl;
    return 1;
  }
  try {
    return Run(flags);
  } catch (const std::exception &err) {
    std::cerr << "error: " << err.what() << std::endl;
    return 1;
  }
}
