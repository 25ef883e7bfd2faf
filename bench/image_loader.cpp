// Images decoded and transformed per second by ImageFolderLoader with torchvision's training
// recipe (RandomResizedCrop(size) bilinear, RandomHorizontalFlip, ToTensor, Normalize), one
// line per round; bench/pytorch_image_loader.py runs it beside PyTorch's DataLoader.
//   image_loader --folder DIR [--workers 2] [--batch 64] [--size 224] [--rounds 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <strata/data/image_folder.hpp>

namespace st = strata;

int main(int argc, char** argv) {
  std::string folder_path;
  std::size_t workers = 2, batch = 64, size = 224, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--folder")
      folder_path = value;
    else if (name == "--workers")
      workers = std::stoul(value);
    else if (name == "--batch")
      batch = std::stoul(value);
    else if (name == "--size")
      size = std::stoul(value);
    else if (name == "--rounds")
      rounds = std::stoul(value);
    else {
      std::cerr << "image_loader: unknown flag " << name << "\n";
      return 2;
    }
  }
  if (folder_path.empty()) {
    std::cerr << "usage: image_loader --folder DIR [--workers 2] [--batch 64] [--size 224] "
                 "[--rounds 5]\n";
    return 2;
  }
  const st::data::ImageFolder folder(folder_path);
  st::data::ImageFolderLoader loader(
      folder, folder.all(), st::data::train_transform({.size = size}),
      {.batch = batch, .sample_size = 3 * size * size, .seed = 1, .workers = workers});
  for (std::size_t round = 0; round < rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    std::size_t images = 0;
    float checksum = 0;  // reads every batch, as a training step would
    loader.start_epoch();
    while (const st::data::ImageBatch* b = loader.next()) {
      images += b->size;
      checksum += b->images[b->images.size() / 2];
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("strata round %zu: %zu images in %.3f s, %.1f images/s (checksum %g)\n", round,
                images, seconds, double(images) / seconds, double(checksum));
  }
  return 0;
}
