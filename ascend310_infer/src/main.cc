/**
 * MobileNetV1 inference with the MindSpore C++ API (include/api: Model, Context, MSTensor).
 *
 * Reads every preprocessed input tensor (*.bin, float32 NCHW, written by preprocess.py) in
 * --input0_path, runs the model on --device_type (Ascend, GPU or CPU) and writes the raw
 * float32 logits to <result_dir>/<input name>_0.bin, plus a timing summary.
 */
#include <sys/time.h>

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
#include "inc/utils.h"

namespace {
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

int Run(const infer::Flags &flags) {
  const std::string model_path = flags.Get("mindir_path");
  auto files = infer::ListFiles(flags.Get("input0_path"), ".bin");
  if (files.empty()) {
    throw std::runtime_error("no .bin input tensors in " + flags.Get("input0_path") + " (run preprocess.py first)");
  }
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
  double total_ms = 0;
  for (const auto &file : files) {
    auto data = infer::ReadFile(file);
    if (data.size() != inputs[0].DataSize()) {
      throw std::runtime_error(file + " holds " + std::to_string(data.size()) + " bytes; the model input " +
                               ShapeText(inputs[0].Shape()) + " float32 needs " +
                               std::to_string(inputs[0].DataSize()));
    }
    std::memcpy(inputs[0].MutableData(), data.data(), data.size());
    std::vector<mindspore::MSTensor> outputs;
    double begin = NowMs();
    status = model.Predict(inputs, &outputs);
    total_ms += NowMs() - begin;
    if (status != mindspore::kSuccess) {
      throw std::runtime_error("inference failed on " + file + ": " + status.ToString());
    }
    auto out = outputs[0].Data();
    infer::WriteFile(flags.Get("result_dir") + "/" + infer::Stem(file) + "_0.bin", out.get(), outputs[0].DataSize());
  }
  std::string summary = "NN inference cost average time: " + std::to_string(total_ms / files.size()) +
                        " ms of infer_count " + std::to_string(files.size());
  std::cout << summary << std::endl;
  infer::WriteFile(flags.Get("time_file"), summary.data(), summary.size());
  return 0;
}
}  // namespace

int main(int argc, char **argv) {
  infer::Flags flags({{"mindir_path", ""},
                      {"input0_path", "."},
                      {"device_type", "CPU"},
                      {"device_id", "0"},
                      {"thread_num", "2"},
                      {"result_dir", "./result_Files"},
                      {"time_file", "./time_Result/test_perform_static.txt"}});
  std::string error = flags.Parse(argc, argv);
  if (!error.empty() || flags.Get("mindir_path").empty()) {
    std::cerr << "error: " << (error.empty() ? "--mindir_path is required" : error) << "\nusage: " << argv[0]
              << " --mindir_path MODEL.mindir --input0_path DIR [--device_type CPU|GPU|Ascend] [--device_id N]"
                 " [--thread_num N] [--result_dir DIR] [--time_file FILE]"
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
