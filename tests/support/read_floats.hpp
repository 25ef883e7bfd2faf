// A raw little-endian float32 file, as tests/image/make_image_golden.py writes its tensors.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <ios>
#include <vector>

namespace strata::test {

inline std::vector<float> read_floats(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::vector<float> out(std::filesystem::file_size(path) / sizeof(float));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size() * 4));
  return out;
}

}  // namespace strata::test
