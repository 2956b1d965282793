/**
 * File helpers and a small command-line flag reader for the inference harness.
 */
#ifndef MOBILENETV1_INFER_UTILS_H_
#define MOBILENETV1_INFER_UTILS_H_

#include <map>
#include <string>
#include <vector>

namespace infer {
// Names of the sub-folders (or of the regular files) of `dir`, sorted; throws when `dir` cannot be read.
std::vector<std::string> ListEntries(const std::string &dir, bool directories);
// Regular files in `dir` whose names end with `suffix`, sorted by name.
std::vector<std::string> ListFiles(const std::string &dir, const std::string &suffix);
// Whole file as bytes; throws std::runtime_error naming the file if it cannot be read.
std::vector<char> ReadFile(const std::string &path);
// Writes bytes to `path`, creating the parent folder; throws std::runtime_error on failure.
void WriteFile(const std::string &path, const void *data, size_t size);
// File name without folder and without the last extension ("a/b/img_3.bin" -> "img_3").
std::string Stem(const std::string &path);

// Parses --key=value / --key value pairs; unknown keys are errors.
class Flags {
 public:
  explicit Flags(std::map<std::string, std::string> defaults) : values_(std::move(defaults)) {}
  // Returns an empty string on success, else the error message.
  std::string Parse(int argc, char **argv);
  const std::string &Get(const std::string &key) const { return values_.at(key); }

 private:
  std::map<std::string, std::string> values_;
};
}  // namespace infer

#endif  // MOBILENETV1_INFER_UTILS_H_
