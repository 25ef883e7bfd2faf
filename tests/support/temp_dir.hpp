// A fresh directory under the system's temporary directory, removed with everything in it when
// the object goes out of scope.
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace strata::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "strata_test_") {
    std::random_device entropy;
    do {
      path_ = std::filesystem::temp_directory_path() / (prefix + std::to_string(entropy()));
    } while (!std::filesystem::create_directory(path_));
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace strata::test
