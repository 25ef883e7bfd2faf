// Prints the summary table of a zoo model (layers, output shapes, parameters, MACs) and times
// one forward pass at batch 1.
//
//   model_zoo [MODEL] [--threads N]     (MODEL: see the list in main; default resnet50)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <strata/models/alexnet.hpp>
#include <strata/models/googlenet.hpp>
#include <strata/models/inception_v3.hpp>
#include <strata/models/resnet.hpp>
#include <strata/models/vgg.hpp>
#include <strata/models/zfnet.hpp>
#include <strata/strata.hpp>

namespace st = strata;

namespace {

template <class Net>
int show(std::string_view name) {
  std::printf("%.*s\n\n%s\n", static_cast<int>(name.size()), name.data(),
              st::summary<Net>().c_str());
  st::Model<Net> model{st::seed{1}};
  model.eval();
  const std::vector<float> image(Net::input_shape::size, 0.5f);
  std::vector<double> milliseconds;
  for (int run = 0; run < 6; ++run) {
    const auto start = std::chrono::steady_clock::now();
    model.forward(image);
    milliseconds.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  // The first run sizes the arena; the median of the others is the steady state.
  std::sort(milliseconds.begin() + 1, milliseconds.end());
  std::printf("forward, batch 1, %zu threads: %.2f ms (first call %.2f ms)\n", model.threads(),
              milliseconds[milliseconds.size() / 2 + 1], milliseconds[0]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "resnet50";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--threads" && i + 1 < argc)
      st::set_threads(std::strtoul(argv[++i], nullptr, 10));
    else
      model = arg;
  }
  if (model == "simplecnn") return show<st::models::SimpleCNN<>>(model);
  if (model == "alexnet") return show<st::models::AlexNet<>>(model);
  if (model == "zfnet") return show<st::models::ZFNet<>>(model);
  if (model == "vgg11") return show<st::models::VGG11<>>(model);
  if (model == "vgg16") return show<st::models::VGG16<>>(model);
  if (model == "vgg16_bn") return show<st::models::VGG16BN<>>(model);
  if (model == "googlenet") return show<st::models::GoogLeNet<>>(model);
  if (model == "inception_v3") return show<st::models::InceptionV3<>>(model);
  if (model == "resnet18") return show<st::models::ResNet18<>>(model);
  if (model == "resnet34") return show<st::models::ResNet34<>>(model);
  if (model == "resnet50") return show<st::models::ResNet50<>>(model);
  if (model == "resnet101") return show<st::models::ResNet101<>>(model);
  if (model == "resnet152") return show<st::models::ResNet152<>>(model);
  if (model == "se_resnet50") return show<st::models::SEResNet50<>>(model);
  std::fprintf(
      stderr,
      "model_zoo: unknown model '%s'; one of simplecnn alexnet zfnet vgg11 vgg16 vgg16_bn "
      "googlenet inception_v3 resnet18 resnet34 resnet50 resnet101 resnet152 se_resnet50\n",
      model.c_str());
  return 2;
}
