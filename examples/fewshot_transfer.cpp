// The few-shot table of docs/transfer-learning.md: Fashion-MNIST read from image folders, with
// 5, 10 or 50 labelled images per class, learned three ways, each choosing its Adam learning
// rate on a validation split and tested once with the chosen one:
//   probe     a linear head on EfficientNet-Lite0's ImageNet features (the pooled 1280);
//   finetune  selective fine-tuning: Lite0's last stage (block 15), its 1x1 head convolution
//             and a new linear head, the stage and convolution at a tenth of the head's rate;
//   scratch   the seed report's SimpleCNN from random weights, on the 28x28 greyscale images.
// The frozen part of Lite0 (stem and blocks 0-14, BatchNorm in eval mode) is a fixed function of
// the image, so it runs once per image and both transfer ways train on its output; this is why
// no way uses augmentation (examples/finetune_folder.cpp augments, at the cost of running the
// whole network every step). examples/fewshot_transfer.py is the same recipe in PyTorch.
//
//   fewshot_transfer --weights "$(tools/fetch-pretrained efficientnet_lite0)" --test test2k
//       --run 1:shots5_seed1 --run 2:shots5_seed2 ... [--validation-per-class 20]
//       [--steps 300] [--threads 2] [--predictions-png grid.png]
// Each --run SEED:DIR is a folder of root/<class>/<image> with shots + 20 images per class, of
// which the last 20 of each class (in file-name order) are the validation split; SEED seeds
// the initial weights and the batch order. The rows printed are tab-separated.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <strata/data/image_folder.hpp>
#include <strata/data/subset.hpp>
#include <strata/io/safetensors.hpp>
#include <strata/models/efficientnet_lite.hpp>
#include <strata/models/simple_cnn.hpp>
#include <strata/train/param_groups.hpp>
#include <strata/train/transfer.hpp>

#include "training.hpp"

namespace {

namespace st = strata;
using examples::Clock;

constexpr std::size_t classes = 10;
constexpr std::size_t side = 96;
constexpr std::size_t cut = 15;  // Lite0's last stage is block 15 alone
using Checkpoint = st::models::EfficientNetLite0<1000, st::Input<3, side, side>>;
using Front = st::models::EfficientNetLiteFront<0, cut, st::Input<3, side, side>>;
using FrontOut = typename Front::output_shape;  // [192, 3, 3]
using BackInput = st::Input<FrontOut::dims[0], FrontOut::dims[1], FrontOut::dims[2]>;
// A new head under a new name, so that copy_matching leaves it as initialised.
using Back = st::replace_head<st::models::EfficientNetLiteBack<0, cut, 1000, BackInput>,
                              st::Named<"head", st::Linear<classes>>>;
// The back with its dropout and head replaced by nothing: the pooled features a probe reads.
using Pooled = st::replace_last<Back, 2, st::Identity>;
using Probe = st::Sequential<st::InputFlat<Pooled::output_shape::size>,
                             st::Named<"head", st::Linear<classes>>>;
using Scratch = st::models::SimpleCNN<classes>;

// Lite's evaluation normalisation on the whole image resized to side x side: its ImageNet centre
// crop would cut a quarter of a small, centred object away.
constexpr st::EvalPreprocessing evaluation =
    st::uncropped(st::models::efficientnet_lite_eval(side));

const std::vector<float> learning_rates = {1e-3f, 3e-3f, 1e-2f};
constexpr std::size_t batch = 32;

struct Options {
  std::string weights, test, predictions_png;
  std::vector<std::pair<std::uint64_t, std::string>> runs;
  std::size_t validation_per_class = 20, steps = 300, workers = 2;
};

// Fashion-MNIST's own 28x28 greyscale (PIL's convert("L")), normalised as
// examples/fashion_mnist.cpp does.
st::data::ImageTransform greyscale() {
  return [](const st::image::Image& rgb, std::mt19937_64&, std::span<float> out) {
    const st::image::Image small = st::image::resize(rgb, 28, 28, st::Resample::bilinear);
    if (out.size() != 28 * 28)
      throw std::invalid_argument("greyscale: the batch holds " + std::to_string(out.size()) +
                                  " values per sample, not 28 x 28");
    for (std::size_t i = 0; i < out.size(); ++i)  // [1, 28, 28]
      out[i] = (st::image::luma(&small.pixels[3 * i]) / 255.0f - 0.2860f) / 0.3530f;
  };
}

// The images of `indices`, transformed, in the folder's order.
st::data::Dataset read(const st::data::ImageFolder& folder, const std::vector<std::size_t>& indices,
                       st::data::ImageTransform transform, std::size_t channels, std::size_t rows,
                       std::size_t workers) {
  st::data::Dataset out{indices.size(), channels, rows, rows, {}, {}};
  out.images.reserve(indices.size() * out.image_size());
  st::data::ImageFolderLoader loader(
      folder, indices, std::move(transform),
      {.batch = 64, .sample_size = out.image_size(), .shuffle = false, .workers = workers});
  loader.start_epoch();
  while (const st::data::ImageBatch* b = loader.next()) {
    out.images.insert(out.images.end(), b->images.begin(), b->images.end());
    out.labels.insert(out.labels.end(), b->labels.begin(), b->labels.end());
  }
  return out;
}

// `model`'s outputs on every image of `in`, as a data set of shape [C, H, W] (or [N, 1, 1]).
template <class Net>
st::data::Dataset outputs(st::Model<Net>& model, const st::data::Dataset& in) {
  using shape = typename Net::output_shape;
  st::data::Dataset out{in.count,
                        shape::dims[0],
                        shape::rank == 3 ? shape::dims[1] : 1,
                        shape::rank == 3 ? shape::dims[2] : 1,
                        {},
                        in.labels};
  out.images.reserve(in.count * shape::size);
  model.eval();
  for (const auto& b : st::data::Loader{in, {.batch = 128, .shuffle = false}}) {
    const std::vector<float> values = model.forward(b.images).read();  // [size, shape]
    out.images.insert(out.images.end(), values.begin(), values.end());
  }
  return out;
}

// The first `per_class` samples of each class of `in`, in order.
st::data::Dataset first_of_each_class(const st::data::Dataset& in, std::size_t per_class) {
  std::vector<std::size_t> indices;
  std::vector<std::size_t> taken(classes, 0);
  for (std::size_t i = 0; i < in.count; ++i)
    if (taken[static_cast<std::size_t>(in.labels[i])]++ < per_class) indices.push_back(i);
  return st::data::subset(in, indices);
}

struct Trial {
  float lr = 0;
  double validation = 0, test = 0;
};

// Trains `steps` Adam steps of `batch` images at the learning rates the groups give (in train or
// eval mode), then measures validation and test accuracy.
template <class Net, class Optimizer>
Trial train(st::Model<Net>& model, Optimizer& optimizer, bool train_mode, float lr,
            std::uint64_t seed, const st::data::Dataset& train_set,
            const st::data::Dataset& validation, const st::data::Dataset& test, std::size_t steps) {
  st::data::Loader loader{train_set, {.batch = std::min(batch, train_set.count), .seed = seed}};
  model.train(train_mode);
  for (std::size_t step = 0; step < steps;) {
    for (const auto& b : loader) {
      if (step++ == steps) break;
      const auto logits = model.forward(b.images);  // [size, classes]
      model.backward(st::cross_entropy(logits, b.labels));
      optimizer.step();
    }
  }
  return {lr, examples::evaluate(model, validation, 256), examples::evaluate(model, test, 256)};
}

// The trial with the best validation accuracy (the first of equals: the smaller rate).
Trial chosen(const std::vector<Trial>& trials) {
  Trial best = trials.front();
  for (const Trial& t : trials)
    if (t.validation > best.validation) best = t;
  return best;
}

void print(const char* way, std::size_t shots, std::uint64_t seed, const std::vector<Trial>& trials,
           double seconds) {
  const Trial best = chosen(trials);
  std::printf("%s\t%zu\t%llu\t%g\t%.2f\t%.2f\t%.0f s\t(validation:", way, shots,
              static_cast<unsigned long long>(seed), static_cast<double>(best.lr),
              100 * best.validation, 100 * best.test, seconds);
  for (const Trial& t : trials)
    std::printf(" %g %.1f%%", static_cast<double>(t.lr), 100 * t.validation);
  std::printf(")\n");
  std::fflush(stdout);
}

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int run(const Options& o) {
  auto checkpoint = std::make_unique<st::Model<Checkpoint>>();
  st::load_safetensors(o.weights, *checkpoint);
  auto front = std::make_unique<st::Model<Front>>();
  st::copy_matching(*checkpoint, *front);

  const st::data::ImageFolder test_folder(o.test);
  const auto start = Clock::now();
  const st::data::Dataset test_images = read(
      test_folder, test_folder.all(), st::data::eval_transform(evaluation), 3, side, o.workers);
  const st::data::Dataset test_front = outputs(*front, test_images);  // [N, 192, 3, 3]
  auto pooled = std::make_unique<st::Model<Pooled>>();
  st::copy_matching(*checkpoint, *pooled);
  const st::data::Dataset test_pooled = outputs(*pooled, test_front);  // [N, 1280, 1, 1]
  const st::data::Dataset test_grey =
      read(test_folder, test_folder.all(), greyscale(), 1, 28, o.workers);
  std::printf("# %zu test images read and passed through Lite0's frozen blocks 0-14 in %.0f s\n",
              test_images.count, since(start));
  bool drawn = false;
  std::printf("way\tshots\tseed\tlr\tvalidation\ttest\ttime\n");

  for (const auto& [seed, dir] : o.runs) {
    const st::data::ImageFolder folder(dir);
    if (folder.classes().size() != classes)
      throw std::runtime_error("'" + dir + "' has " + std::to_string(folder.classes().size()) +
                               " classes; the heads have " + std::to_string(classes));
    const std::size_t per_class = folder.size() / classes;
    if (per_class <= o.validation_per_class)
      throw std::runtime_error("'" + dir + "' has " + std::to_string(per_class) +
                               " images per class, not more than the " +
                               std::to_string(o.validation_per_class) + " kept for validation");
    const std::size_t shots = per_class - o.validation_per_class;
    // Per class, the first `shots` files in the folder's (sorted) order train and the rest
    // validate: tools/idx-to-folder names files by their index in the data set, drawn at
    // random, so this split is as random as a seeded one, and the PyTorch script makes the same.
    std::vector<std::size_t> train_indices, validation_indices, seen(classes, 0);
    for (std::size_t i = 0; i < folder.size(); ++i) {
      const auto label = static_cast<std::size_t>(folder.samples()[i].label);
      (seen[label]++ < shots ? train_indices : validation_indices).push_back(i);
    }
    auto lite_input = [&](const std::vector<std::size_t>& indices) {
      return outputs(*front, read(folder, indices, st::data::eval_transform(evaluation), 3, side,
                                  o.workers));  // [N, 192, 3, 3]
    };
    const st::data::Dataset train_front = lite_input(train_indices);
    const st::data::Dataset validation_front = lite_input(validation_indices);

    auto started = Clock::now();
    std::vector<Trial> trials;
    const st::data::Dataset train_pooled = outputs(*pooled, train_front);  // [N, 1280, 1, 1]
    const st::data::Dataset validation_pooled = outputs(*pooled, validation_front);
    for (const float lr : learning_rates) {
      st::Model<Probe> probe{st::seed{seed}};
      st::Adam optimizer{probe.parameters(), {.lr = lr}};
      trials.push_back(train(probe, optimizer, true, lr, seed, train_pooled, validation_pooled,
                             test_pooled, o.steps));
    }
    print("probe", shots, seed, trials, since(started));

    started = Clock::now();
    trials.clear();
    const bool draw = !o.predictions_png.empty() && !drawn;
    std::unique_ptr<st::Model<Back>> best_back;  // kept only for the picture
    double chosen_validation = 0;
    for (const float lr : learning_rates) {
      auto back = std::make_unique<st::Model<Back>>(st::seed{seed});
      st::copy_matching(*checkpoint, *back);
      st::freeze(*back, "");
      for (const char* part : {"_blocks.15.", "_conv_head.", "head."}) st::unfreeze(*back, part);
      st::Adam optimizer{
          st::groups(*back, {{.prefix = "head.", .lr = lr}, {.prefix = "", .lr = lr / 10}}),
          {.lr = lr}};
      // Eval mode: the ImageNet BatchNorm statistics, which a few images would only worsen.
      trials.push_back(train(*back, optimizer, false, lr, seed, train_front, validation_front,
                             test_front, o.steps));
      if (draw && (!best_back || trials.back().validation > chosen_validation)) {
        chosen_validation = trials.back().validation;
        best_back = std::move(back);
      }
    }
    print("finetune", shots, seed, trials, since(started));

    started = Clock::now();
    trials.clear();
    const st::data::Dataset train_grey = read(folder, train_indices, greyscale(), 1, 28, o.workers);
    const st::data::Dataset validation_grey =
        read(folder, validation_indices, greyscale(), 1, 28, o.workers);
    for (const float lr : learning_rates) {
      auto net = std::make_unique<st::Model<Scratch>>(st::seed{seed});
      st::Adam optimizer{net->parameters(), {.lr = lr}};
      trials.push_back(
          train(*net, optimizer, true, lr, seed, train_grey, validation_grey, test_grey, o.steps));
    }
    print("scratch", shots, seed, trials, since(started));

    if (draw) {
      // The first three test images of each class, at Lite's input size, with the first run's
      // chosen fine-tuned model's predictions.
      drawn = true;
      const st::data::Dataset shown = first_of_each_class(test_images, 3);  // [30, 3, 96, 96]
      best_back->eval();
      const std::vector<float> logits =
          best_back->forward(first_of_each_class(test_front, 3).images).read();  // [30, classes]
      const auto& names = test_folder.classes();
      const std::vector<std::string_view> labels(names.begin(), names.end());
      st::image::write_png(
          o.predictions_png,
          st::image::predictions(shown.images, shown.count, 3, side, side, shown.labels, logits,
                                 labels, {.columns = 6, .gap = 6}));
      std::printf("# wrote %s\n", o.predictions_png.c_str());
    }
  }
  return 0;
}

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "fewshot_transfer: " << problem << "\n"
            << "usage: fewshot_transfer --weights FILE.safetensors --test DIR --run SEED:DIR...\n"
            << "         [--validation-per-class 20] [--steps 300] [--threads N] [--workers 2]\n"
            << "         [--predictions-png FILE]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (name == "--help" || name == "-h") usage("the few-shot table of docs/transfer-learning.md");
    if (i + 1 >= argc) usage("missing value after " + std::string(name));
    const std::string value = argv[++i];
    try {
      if (name == "--weights")
        o.weights = value;
      else if (name == "--test")
        o.test = value;
      else if (name == "--run") {
        const auto colon = value.find(':');
        if (colon == std::string::npos) usage("--run takes SEED:DIR, not '" + value + "'");
        o.runs.emplace_back(std::stoull(value.substr(0, colon)), value.substr(colon + 1));
      } else if (name == "--validation-per-class")
        o.validation_per_class = std::stoul(value);
      else if (name == "--steps")
        o.steps = std::stoul(value);
      else if (name == "--threads")
        st::set_threads(std::stoul(value));
      else if (name == "--workers")
        o.workers = std::stoul(value);
      else if (name == "--predictions-png")
        o.predictions_png = value;
      else
        usage("unknown flag " + std::string(name));
    } catch (const std::logic_error&) {
      usage("bad value '" + value + "' for " + std::string(name));
    }
  }
  if (o.weights.empty() || o.test.empty() || o.runs.empty())
    usage("need --weights, --test and at least one --run");
  try {
    return run(o);
  } catch (const std::exception& error) {
    std::cerr << "fewshot_transfer: " << error.what() << "\n";
    return 1;
  }
}
