// Classifies a JPEG or PNG with a zoo model and weights imported from torchvision (safetensors),
// preprocessed as torchvision's ImageNet evaluation transform; prints the top 5 classes.
//
//   classify_image --model resnet18 --weights resnet18.safetensors [--labels FILE]
//                  [--resize 256] [--crop 224] [--threads N] [--device cpu|cuda] IMAGE
//
// MODEL: resnet18, resnet50, mobilenet_v2, efficientnet_b0. Weights: see docs/visualisation.md
// (tools/torch_to_safetensors.py); there are no pretrained weights in this repository.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <strata/image/io.hpp>
#include <strata/image/preprocess.hpp>
#include <strata/io/safetensors.hpp>
#include <strata/models/efficientnet.hpp>
#include <strata/models/mobilenet_v2.hpp>
#include <strata/models/resnet.hpp>
#include <strata/strata.hpp>
#include <strata/train/metrics.hpp>

#include "device.hpp"

namespace st = strata;

namespace {

struct Options {
  std::string model, weights, image, labels = STRATA_IMAGENET_LABELS;
  std::size_t resize = 256, crop = 224;
  std::string device = "cpu";
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "classify_image: " << problem << "\n"
            << "usage: classify_image --model resnet18|resnet50|mobilenet_v2|efficientnet_b0\n"
            << "                      --weights FILE.safetensors [--labels FILE] [--resize 256]\n"
            << "                      [--crop 224] [--threads N] [--device cpu|cuda] IMAGE\n";
  std::exit(2);
}

std::vector<std::string> read_labels(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) labels.push_back(line);
  if (labels.size() != 1000)
    throw std::runtime_error("labels file '" + path + "' has " + std::to_string(labels.size()) +
                             " lines; expected the 1000 ImageNet classes");
  return labels;
}

// The crop must be the network's input size: the zoo models are instantiated at 224x224.
template <class Net, class Backend>
int classify(const Options& options) {
  using input = typename st::Model<Net, Backend>::input_shape;
  if (options.crop != input::dims[1])
    usage("--crop must be " + std::to_string(input::dims[1]) + ", the network's input size");
  const auto labels = read_labels(options.labels);
  const auto tensor = st::image::imagenet_preprocess(st::image::read_rgb(options.image),
                                                     options.resize, options.crop);  // [3, H, W]
  st::Model<Net, Backend> model;
  st::load_safetensors(options.weights, model);
  model.eval();
  const std::vector<float> logits = model.forward(tensor).read();  // [1000]
  const auto probabilities = st::softmax(logits);
  std::printf("%s (%s, on %s):\n", options.image.c_str(), options.model.c_str(),
              options.device.c_str());
  for (const std::size_t c : st::top_k(logits, 5))
    std::printf("  %6.2f%%  %4zu %-28s logit %.9g\n", 100.0 * probabilities[c], c,
                labels[c].c_str(), static_cast<double>(logits[c]));
  return 0;
}

template <class Net>
int classify_on_device(const Options& options) {
  return examples::on_device(options.device,
                             [&]<class Backend>() { return classify<Net, Backend>(options); });
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--help" || name == "-h") usage("classify an image with an ImageNet model");
    if (!name.starts_with("--")) {
      options.image = name;
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + std::string(name));
    const std::string value = argv[++i];
    try {
      if (name == "--model")
        options.model = value;
      else if (name == "--weights")
        options.weights = value;
      else if (name == "--labels")
        options.labels = value;
      else if (name == "--resize")
        options.resize = std::stoul(value);
      else if (name == "--crop")
        options.crop = std::stoul(value);
      else if (name == "--threads")
        st::set_threads(std::stoul(value));
      else if (name == "--device")
        options.device = value;
      else
        usage("unknown flag " + std::string(name));
    } catch (const std::logic_error&) {
      usage("bad value '" + value + "' for " + std::string(name));
    }
  }
  if (options.image.empty() || options.weights.empty()) usage("need --weights and an IMAGE");
  if (const std::string problem = examples::device_problem("classify_image", options.device);
      !problem.empty())
    usage(problem);
  try {
    if (options.model == "resnet18") return classify_on_device<st::models::ResNet18<>>(options);
    if (options.model == "resnet50") return classify_on_device<st::models::ResNet50<>>(options);
    if (options.model == "mobilenet_v2")
      return classify_on_device<st::models::MobileNetV2<>>(options);
    if (options.model == "efficientnet_b0")
      return classify_on_device<st::models::EfficientNetB0<>>(options);
  } catch (const std::exception& error) {
    std::cerr << "classify_image: " << error.what() << "\n";
    return 1;
  }
  usage("unknown --model '" + options.model + "'");
}
