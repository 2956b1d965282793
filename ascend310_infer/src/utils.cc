#include "inc/utils.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace infer {
std::vector<std::string> ListEntries(const std::string &dir, bool directories) {
  std::vector<std::string> names;
  DIR *handle = opendir(dir.c_str());
  if (handle == nullptr) {
    throw std::runtime_error((directories ? "image folder not found: " : "input folder not found: ") + dir);
  }
  for (dirent *entry = readdir(handle); entry != nullptr; entry = readdir(handle)) {
    std::string name(entry->d_name);
    struct stat info;
    if (name != "." && name != ".." && stat((dir + "/" + name).c_str(), &info) == 0 &&
        (directories ? S_ISDIR(info.st_mode) : S_ISREG(info.st_mode))) {
      names.push_back(name);
    }
  }
  closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> ListFiles(const std::string &dir, const std::string &suffix) {
  std::vector<std::string> files;
  for (const auto &name : ListEntries(dir, false)) {
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      files.push_back(dir + "/" + name);
    }
  }
  return files;
}

std::vector<char> ReadFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::vector<char> data(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) {
    throw std::runtime_error("cannot read " + path);
  }
  return data;
}

void WriteFile(const std::string &path, const void *data, size_t size) {
  auto slash = path.find_last_of('/');
  if (slash != std::string::npos) {
    mkdir(path.substr(0, slash).c_str(), 0755);
  }
  std::ofstream out(path, std::ios::binary);
  if (!out || !out.write(static_cast<const char *>(data), static_cast<std::streamsize>(size))) {
    throw std::runtime_error("cannot write " + path);
  }
}

std::string Stem(const std::string &path) {
  auto slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  auto dot = name.find_last_of('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

std::string Flags::Parse(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg(argv[i]);
    if (arg.rfind("--", 0) != 0) {
      return "unexpected argument '" + arg + "'";
    }
    std::string key = arg.substr(2);
    std::string value;
    auto equals = key.find('=');
    if (equals != std::string::npos) {
      value = key.substr(equals + 1);
      key = key.substr(0, equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return "flag --" + key + " needs a value";
    }
    if (values_.count(key) == 0) {
      return "unknown flag --" + key;
    }
    values_[key] = value;
  }
  return "";
}
}  // namespace infer
