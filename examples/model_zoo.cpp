// Prints the summary table of a zoo model (layers, output shapes, parameters, MACs) and times
// one forward pass at batch 1.
//
//   model_zoo [MODEL] [--threads N] [--device cpu|cuda]   (MODEL: see the list in main;
//                                                         default resnet50)
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

#include "device.hpp"

namespace st = strata;

namespace {

template <class Net, class Backend>
int time_forward(const std::string& device) {
  st::Model<Net, Backend> model{st::seed{1}};
  model.eval();
  const std::vector<float> image(Net::input_shape::size, 0.5f);
  std::vector<double> milliseconds;
  for (int run = 0; run < 6; ++run) {
    const auto start = std::chrono::steady_clock::now();
    // Reading the logits waits for the backend to finish the pass.
    const std::vector<float> logits = model.forward(image).read();  // [classes]
    milliseconds.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  // The first run sizes the arena; the median of the others is the steady state.
  std::sort(milliseconds.begin() + 1, milliseconds.end());
  std::printf("forward on %s, batch 1, %zu threads: %.2f ms (first call %.2f ms)\n", device.c_str(),
              model.threads(), milliseconds[milliseconds.size() / 2 + 1], milliseconds[0]);
  return 0;
}

template <class Net>
int show(std::string_view name, const std::string& device) {
  std::printf("%.*s\n\n%s\n", static_cast<int>(name.size()), name.data(),
              st::summary<Net>().c_str());
  return examples::on_device(device,
                             [&]<class Backend>() { return time_forward<Net, Backend>(device); });
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "resnet50", device = "cpu";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--threads" && i + 1 < argc)
      st::set_threads(std::strtoul(argv[++i], nullptr, 10));
    else if (arg == "--device" && i + 1 < argc)
      device = argv[++i];
    else
      model = arg;
  }
  if (const std::string problem = examples::device_problem("model_zoo", device); !problem.empty()) {
    std::fprintf(stderr, "model_zoo: %s\n", problem.c_str());
    return 2;
  }
  if (model == "simplecnn") return show<st::models::SimpleCNN<>>(model, device);
  if (model == "alexnet") return show<st::models::AlexNet<>>(model, device);
  if (model == "zfnet") return show<st::models::ZFNet<>>(model, device);
  if (model == "vgg11") return show<st::models::VGG11<>>(model, device);
  if (model == "vgg16") return show<st::models::VGG16<>>(model, device);
  if (model == "vgg16_bn") return show<st::models::VGG16BN<>>(model, device);
  if (model == "googlenet") return show<st::models::GoogLeNet<>>(model, device);
  if (model == "inception_v3") return show<st::models::InceptionV3<>>(model, device);
  if (model == "resnet18") return show<st::models::ResNet18<>>(model, device);
  if (model == "resnet34") return show<st::models::ResNet34<>>(model, device);
  if (model == "resnet50") return show<st::models::ResNet50<>>(model, device);
  if (model == "resnet101") return show<st::models::ResNet101<>>(model, device);
  if (model == "resnet152") return show<st::models::ResNet152<>>(model, device);
  if (model == "se_resnet50") return show<st::models::SEResNet50<>>(model, device);
  std::fprintf(
      stderr,
      "model_zoo: unknown model '%s'; one of simplecnn alexnet zfnet vgg11 vgg16 vgg16_bn "
      "googlenet inception_v3 resnet18 resnet34 resnet50 resnet101 resnet152 se_resnet50\n",
      model.c_str());
  return 2;
}
