/**
 * Declaration of mindspore::Converter (MindSpore Lite 2.0 converter library).
 *
 * The mindspore-lite 2.0.0 wheel ships libmindspore_converter.so, which exports this class,
 * but not its header; this declaration matches the exported symbols (checked with nm -DC)
 * and the single data member of the released class. Only used by convert_onnx.cc.
 */
#ifndef MOBILENETV1_LITE_CONVERTER_H_
#define MOBILENETV1_LITE_CONVERTER_H_

#include <memory>
#include <string>
#include <vector>

#include "include/api/status.h"
#include "include/api/types.h"
#include "include/registry/converter_context.h"

namespace mindspore {
struct ConverterPara;

class MS_API Converter {
 public:
  Converter(converter::FmkType fmk_type, const std::vector<char> &model_file, const std::vector<char> &output_file,
            const std::vector<char> &weight_file);
  ~Converter() = default;
  void SetSaveType(ModelType save_type);
  Status Convert();

 private:
  std::shared_ptr<ConverterPara> data_;
};
}  // namespace mindspore

#endif  // MOBILENETV1_LITE_CONVERTER_H_
