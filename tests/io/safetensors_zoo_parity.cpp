// Runs one full-size zoo model on weights from a safetensors file, for tests/io/zoo_parity.py:
//
//   safetensors_zoo_parity <model> <weights.safetensors> <input.f32> <logits.f32> <resaved>
//
// loads the weights (any mismatch is an error), runs the eval-mode forward pass on the input
// (raw little-endian float32, batch 1, NCHW), writes the logits the same way, and saves the
// model again as <resaved> for the round trip back to torchvision.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "strata/io/safetensors.hpp"
#include "strata/models/alexnet.hpp"
#include "strata/models/efficientnet.hpp"
#include "strata/models/googlenet.hpp"
#include "strata/models/mobilenet_v2.hpp"
#include "strata/models/mobilenet_v3.hpp"
#include "strata/models/resnet.hpp"
#include "strata/models/vgg.hpp"
#include "strata/strata.hpp"

namespace st = strata;

namespace {

std::vector<float> read_floats(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                        std::istreambuf_iterator<char>()};
  if (!in.is_open() || bytes.empty() || bytes.size() % sizeof(float) != 0)
    throw std::runtime_error("cannot read float32 data from '" + file.string() + "'");
  std::vector<float> out(bytes.size() / sizeof(float));  // [values]
  st::detail::io::read_le_floats(bytes.data(), out.data(), out.size());
  return out;
}

template <class Net>
void run(char** argv) {
  auto model = std::make_unique<st::Model<Net>>();
  const st::LoadReport report = st::load_safetensors(argv[2], *model);
  model->eval();
  const std::vector<float> input = read_floats(argv[3]);  // [1, C, H, W]
  const auto logits = model->forward(input);              // [1, classes]
  std::vector<std::uint8_t> out;
  st::detail::io::append_le_floats(out, logits.values().data(), logits.values().size());
  std::ofstream logits_file(argv[4], std::ios::binary);
  logits_file.write(reinterpret_cast<const char*>(out.data()),
                    static_cast<std::streamsize>(out.size()));
  if (!logits_file.flush()) throw std::runtime_error(std::string("cannot write ") + argv[4]);
  st::save_safetensors(argv[5], *model);
  std::printf("%s: %zu parameters loaded, %zu file tensors ignored\n", argv[1],
              static_cast<std::size_t>(Net::parameter_count), report.ignored.size());
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: %s <model> <weights.safetensors> <input.f32> <logits.f32> <resaved>\n",
                 argv[0]);
    return 2;
  }
  st::set_threads(1);
  const std::string_view name = argv[1];
  // One instantiation per model: each takes 10-20 s to compile.
  if (name == "alexnet")
    run<st::models::AlexNet<>>(argv);
  else if (name == "vgg11")
    run<st::models::VGG11<>>(argv);
  else if (name == "googlenet")
    run<st::models::GoogLeNet<>>(argv);
  else if (name == "resnet18")
    run<st::models::ResNet18<>>(argv);
  else if (name == "resnet50")
    run<st::models::ResNet50<>>(argv);
  else if (name == "resnext50_32x4d")
    run<st::models::ResNeXt50_32x4d<>>(argv);
  else if (name == "wide_resnet50_2")
    run<st::models::WideResNet50_2<>>(argv);
  else if (name == "mobilenet_v2")
    run<st::models::MobileNetV2<>>(argv);
  else if (name == "mobilenet_v3_large")
    run<st::models::MobileNetV3Large<>>(argv);
  else if (name == "mobilenet_v3_small")
    run<st::models::MobileNetV3Small<>>(argv);
  else if (name == "efficientnet_b0")
    run<st::models::EfficientNetB0<>>(argv);
  else
    throw std::invalid_argument("unknown model '" + std::string(name) + "'");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "safetensors_zoo_parity: %s\n", e.what());
  return 1;
}
