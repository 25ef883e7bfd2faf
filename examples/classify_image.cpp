// Classifies a JPEG or PNG with an ImageNet-trained zoo model (safetensors weights), preprocessed
// as that model's weights were trained; prints the top 5 classes.
//
//   classify_image --model efficientnet_lite0
//                  --weights "$(tools/fetch-pretrained efficientnet_lite0)" photo.jpg
//   classify_image --model resnet18 --weights resnet18.safetensors [--resize 256] [--crop 224]
//                  [--labels FILE] [--threads N] [--device cpu|cuda] IMAGE
//
// MODEL: efficientnet_lite0..2 (the ImageNet checkpoints tools/fetch-pretrained converts; their
// own preprocessing, models::efficientnet_lite_eval), or resnet18, resnet50, mobilenet_v2,
// efficientnet_b0 with weights exported from torchvision (docs/visualisation.md,
// tools/torch_to_safetensors.py) and torchvision's ImageNet transform (bicubic for
// efficientnet_b0, as its weights' transforms), whose Resize and CenterCrop --resize and --crop
// set. There are no pretrained weights in this repository.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <strata/image/io.hpp>
#include <strata/image/preprocess.hpp>
#include <strata/io/safetensors.hpp>
#include <strata/models/efficientnet.hpp>
#include <strata/models/efficientnet_lite.hpp>
#include <strata/models/mobilenet_v2.hpp>
#include <strata/models/resnet.hpp>
#include <strata/strata.hpp>
#include <strata/train/metrics.hpp>

#include "device.hpp"

namespace st = strata;

namespace {

struct Options {
  std::string model, weights, image, labels = STRATA_IMAGENET_LABELS;
  std::optional<std::size_t> resize, crop;  // torchvision's transform only
  std::string device = "cpu";
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "classify_image: " << problem << "\n"
            << "usage: classify_image --model efficientnet_lite0|efficientnet_lite1|"
               "efficientnet_lite2|\n"
            << "                      resnet18|resnet50|mobilenet_v2|efficientnet_b0\n"
            << "                      --weights FILE.safetensors [--labels FILE] [--resize 256]\n"
            << "                      [--crop 224] [--threads N] [--device cpu|cuda] IMAGE\n"
            << "  (--resize and --crop: torchvision's models only; efficientnet_lite weights:\n"
            << "   tools/fetch-pretrained NAME)\n";
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

template <class Net, class Backend>
int classify(const Options& options, const st::EvalPreprocessing& preprocessing) {
  const auto labels = read_labels(options.labels);
  const auto tensor = st::image::preprocess(st::image::read_rgb(options.image),
                                            preprocessing);  // [3, size, size]
  st::Model<Net, Backend> model;
  st::load_safetensors(options.weights, model);
  model.eval();
  const std::vector<float> logits = model.forward(tensor).read();  // [1000]
  const auto probabilities = st::softmax(logits);
  std::printf("%s (%s, on %s):\n", options.image.c_str(), options.model.c_str(),
              options.device.c_str());
  for (const std::size_t c : st::top_k(logits, 5))
    std::printf("  %8.4f%%  %4zu %-28s logit %.9g\n", 100.0 * probabilities[c], c,
                labels[c].c_str(), static_cast<double>(logits[c]));
  return 0;
}

template <class Net>
int classify_on_device(const Options& options, const st::EvalPreprocessing& preprocessing) {
  return examples::on_device(options.device, [&]<class Backend>() {
    return classify<Net, Backend>(options, preprocessing);
  });
}

// The zoo models are instantiated at their weights' input size, which the crop must be.
template <class Net>
int classify_torchvision(const Options& options, st::Resample resample = st::Resample::bilinear) {
  constexpr std::size_t size = st::Model<Net>::input_shape::dims[1];
  if (options.crop.value_or(size) != size)
    usage("--crop must be " + std::to_string(size) + ", the network's input size");
  return classify_on_device<Net>(
      options, st::torchvision_imagenet_eval(options.resize.value_or(256), size, resample));
}

// A pretrained model with its own preprocessing (a function of the input size), which the flags
// do not change.
template <class Net>
int classify_pretrained(const Options& options,
                        st::EvalPreprocessing (*preprocessing_at)(std::size_t size)) {
  if (options.resize || options.crop)
    usage("--resize and --crop are torchvision's transform; " + options.model +
          " has its own preprocessing");
  return classify_on_device<Net>(options, preprocessing_at(st::Model<Net>::input_shape::dims[1]));
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
    namespace models = st::models;
    if (options.model == "efficientnet_lite0")
      return classify_pretrained<models::EfficientNetLite0<>>(options,
                                                              models::efficientnet_lite_eval);
    if (options.model == "efficientnet_lite1")
      return classify_pretrained<models::EfficientNetLite1<>>(options,
                                                              models::efficientnet_lite_eval);
    if (options.model == "efficientnet_lite2")
      return classify_pretrained<models::EfficientNetLite2<>>(options,
                                                              models::efficientnet_lite_eval);
    if (options.model == "resnet18") return classify_torchvision<models::ResNet18<>>(options);
    if (options.model == "resnet50") return classify_torchvision<models::ResNet50<>>(options);
    if (options.model == "mobilenet_v2")
      return classify_torchvision<models::MobileNetV2<>>(options);
    if (options.model == "efficientnet_b0")
      return classify_torchvision<models::EfficientNetB0<>>(options, st::Resample::bicubic);
  } catch (const std::exception& error) {
    std::cerr << "classify_image: " << error.what() << "\n";
    return 1;
  }
  usage("unknown --model '" + options.model + "'");
}
