/**
 * ONNX -> MindSpore Lite MINDIR, with the converter library of the MindSpore Lite runtime.
 *
 * Usage: convert_onnx MODEL.onnx OUTPUT_PREFIX    (writes OUTPUT_PREFIX.mindir)
 *
 * MindSpore 2.x writes MindIR version 3, which the Lite 2.0 runtime cannot read; the ONNX file
 * from `export.py --file_format ONNX` converts into a MindIR it runs.
 */
#include <iostream>
#include <string>
#include <vector>

#include "inc/lite_converter.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " MODEL.onnx OUTPUT_PREFIX" << std::endl;
    return 1;
  }
  std::string model(argv[1]);
  std::string output(argv[2]);
  mindspore::Converter converter(mindspore::converter::kFmkTypeOnnx, std::vector<char>(model.begin(), model.end()),
                                 std::vector<char>(output.begin(), output.end()), std::vector<char>());
  converter.SetSaveType(mindspore::ModelType::kMindIR);
  auto status = converter.Convert();
  if (status != mindspore::kSuccess) {
    std::cerr << "error: converting " << model << " failed: " << status.ToString() << std::endl;
    return 1;
  }
  std::cout << "converted " << model << " -> " << output << ".mindir" << std::endl;
  return 0;
}
