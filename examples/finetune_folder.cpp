// Fine-tunes EfficientNet-Lite0's ImageNet weights on an image folder (root/<class>/<image>):
// a new 10-class head on the pretrained backbone, trained as a linear probe (backbone frozen),
// by selective fine-tuning (the last stage and the head, the stage at a tenth of the rate), or
// the same network from scratch; reports validation and test accuracy.
//
//   tools/idx-to-folder .../train-images-idx3-ubyte.gz .../train-labels-idx1-ubyte.gz few
//       --names fashion-mnist --per-class 10 --seed 1
//   finetune_folder --train few --test test --mode probe
//       --weights "$(tools/fetch-pretrained efficientnet_lite0)"
//
// The images are decoded and augmented on worker threads (strata/data/image_folder.hpp): greyscale
// becomes RGB, RandomResizedCrop (scale 0.6-1) to 96x96 and a horizontal flip for training, a
// plain bicubic resize for evaluation, both with Lite's normalisation (v - 127) / 128. The class
// count is a compile-time constant of the network type (classes below): a folder with another
// count is refused.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <strata/data/image_folder.hpp>
#include <strata/io/safetensors.hpp>
#include <strata/models/efficientnet_lite.hpp>
#include <strata/strata.hpp>
#include <strata/train/metrics.hpp>
#include <strata/train/param_groups.hpp>
#include <strata/train/transfer.hpp>

namespace st = strata;

namespace {

constexpr std::size_t classes = 10;
constexpr std::size_t side = 96;
using Backbone = st::models::EfficientNetLite0<1000, st::Input<3, side, side>>;
// A new head under a new name, so that copy_matching leaves it as initialised.
using Net = st::replace_head<Backbone, st::Named<"head", st::Linear<classes>>>;
constexpr std::size_t sample_size = Net::input_shape::size;
// Lite's evaluation normalisation on the whole image resized to side x side: its ImageNet centre
// crop would cut a quarter of a small, centred object away.
constexpr st::EvalPreprocessing evaluation =
    st::uncropped(st::models::efficientnet_lite_eval(side));

struct Options {
  std::string train, test, weights, mode = "probe";
  std::size_t epochs = 15, batch = 32, workers = 2;
  float lr = 1e-3f;
  double validation = 0.2;
  std::uint64_t seed = 1;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "finetune_folder: " << problem << "\n"
            << "usage: finetune_folder --train DIR [--test DIR] --weights FILE.safetensors\n"
            << "         [--mode probe|finetune|scratch] [--epochs 15] [--lr 1e-3] [--batch 32]\n"
            << "         [--validation 0.2] [--seed 1] [--threads N] [--workers 2]\n";
  std::exit(2);
}

double accuracy(st::Model<Net>& model, const st::data::ImageFolder& folder,
                std::vector<std::size_t> indices, std::size_t workers) {
  st::data::ImageFolderLoader loader(
      folder, std::move(indices), st::data::eval_transform(evaluation),
      {.batch = 128, .sample_size = sample_size, .shuffle = false, .workers = workers});
  model.eval();
  std::size_t correct = 0, seen = 0;
  loader.start_epoch();
  while (const st::data::ImageBatch* batch = loader.next()) {
    const std::vector<float> logits = model.forward(batch->images).read();  // [size, classes]
    for (std::size_t n = 0; n < batch->size; ++n)
      correct += st::top_k({&logits[n * classes], classes}, 1)[0] ==
                 static_cast<std::size_t>(batch->labels[n]);
    seen += batch->size;
  }
  return seen == 0 ? 0.0 : double(correct) / double(seen);
}

int run(const Options& o) {
  const st::data::ImageFolder train_folder(o.train);
  if (train_folder.classes().size() != classes)
    throw std::runtime_error("'" + o.train + "' has " +
                             std::to_string(train_folder.classes().size()) +
                             " classes; this network's head has " + std::to_string(classes));
  for (const auto& s : train_folder.skipped())
    std::printf("skipped %s: %s\n", s.path.c_str(), s.reason.c_str());
  const auto [train, validation] = train_folder.split(o.validation, o.seed);
  std::printf("%zu training and %zu validation images in %zu classes\n", train.size(),
              validation.size(), classes);

  auto owned = std::make_unique<st::Model<Net>>(st::seed{o.seed});
  st::Model<Net>& model = *owned;
  const bool pretrained = o.mode != "scratch";
  if (pretrained) {
    auto source = std::make_unique<st::Model<Backbone>>();
    st::load_safetensors(o.weights, *source);
    std::printf("copy_matching: %s\n", st::copy_matching(*source, model).str().c_str());
    st::freeze(model, "");
    st::unfreeze(model, "head.");
    if (o.mode == "finetune") {
      st::unfreeze(model, "_blocks.15.");  // Lite0's last stage is one block
      st::unfreeze(model, "_conv_head.");
      st::unfreeze(model, "_bn1.");
    }
  }
  st::Adam optimizer{st::groups(model, {{.prefix = "head.", .lr = o.lr},
                                        {.prefix = "", .lr = pretrained ? o.lr / 10 : o.lr}}),
                     {.lr = o.lr}};

  st::data::TrainTransformOptions augment{.size = side};
  augment.crop.scale_min = 0.6;
  const st::EvalPreprocessing lite = st::models::efficientnet_lite_eval(side);
  augment.mean = lite.mean;
  augment.std = lite.std;
  augment.divisor = lite.divisor;
  st::data::ImageFolderLoader loader(
      train_folder, train, st::data::train_transform(augment),
      {.batch = o.batch, .sample_size = sample_size, .seed = o.seed, .workers = o.workers});
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t epoch = 1; epoch <= o.epochs; ++epoch) {
    // A pretrained backbone keeps its ImageNet BatchNorm statistics: a few images per class
    // would give it worse ones.
    model.train(!pretrained);
    double loss_sum = 0;
    std::size_t steps = 0;
    loader.start_epoch();
    while (const st::data::ImageBatch* batch = loader.next()) {
      const auto logits = model.forward(batch->images);  // [size, classes]
      const auto loss = st::cross_entropy(logits, batch->labels);
      loss_sum += loss.value;
      model.backward(loss);
      optimizer.step();
      ++steps;
    }
    char checked[64] = "no validation images";
    if (!validation.empty())
      std::snprintf(checked, sizeof checked, "validation %.2f%%",
                    100 * accuracy(model, train_folder, validation, o.workers));
    std::printf("epoch %2zu  loss %.4f  %s  (%.1f s)\n", epoch,
                loss_sum / double(std::max<std::size_t>(steps, 1)), checked,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (!o.test.empty()) {
    const st::data::ImageFolder test_folder(o.test);
    std::printf("test accuracy (%s, %zu images): %.2f%%\n", o.mode.c_str(), test_folder.size(),
                100 * accuracy(model, test_folder, test_folder.all(), o.workers));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--help" || name == "-h") usage("fine-tune EfficientNet-Lite0 on an image folder");
    if (i + 1 >= argc) usage("missing value after " + std::string(name));
    const std::string value = argv[++i];
    try {
      if (name == "--train")
        o.train = value;
      else if (name == "--test")
        o.test = value;
      else if (name == "--weights")
        o.weights = value;
      else if (name == "--mode")
        o.mode = value;
      else if (name == "--epochs")
        o.epochs = std::stoul(value);
      else if (name == "--lr")
        o.lr = std::stof(value);
      else if (name == "--batch")
        o.batch = std::stoul(value);
      else if (name == "--validation")
        o.validation = std::stod(value);
      else if (name == "--seed")
        o.seed = std::stoull(value);
      else if (name == "--threads")
        st::set_threads(std::stoul(value));
      else if (name == "--workers")
        o.workers = std::stoul(value);
      else
        usage("unknown flag " + std::string(name));
    } catch (const std::logic_error&) {
      usage("bad value '" + value + "' for " + std::string(name));
    }
  }
  if (o.train.empty()) usage("need --train DIR");
  if (o.mode != "probe" && o.mode != "finetune" && o.mode != "scratch")
    usage("--mode must be probe, finetune or scratch");
  if (o.mode != "scratch" && o.weights.empty()) usage("--mode " + o.mode + " needs --weights");
  try {
    return run(o);
  } catch (const std::exception& error) {
    std::cerr << "finetune_folder: " << error.what() << "\n";
    return 1;
  }
}
