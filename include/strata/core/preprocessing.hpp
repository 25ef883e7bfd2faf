// How a pretrained network wants a photo turned into its input, as data: the model's header
// states it (beside the architecture its weights belong to), strata/image/preprocess.hpp applies
// it. Nothing here touches pixels, so models need no image code.
#pragma once

#include <array>
#include <cstddef>

namespace strata {

// PIL's resampling filters, by the names Image.resize takes.
enum class Resample { bilinear, bicubic };

struct EvalPreprocessing {
  // torchvision's Resize(resize_short) then CenterCrop(size), or TensorFlow's centre square of
  // size / (size + crop_padding) of the short side resized to size.
  enum class Geometry { resize_then_crop, crop_then_resize };
  Geometry geometry;
  std::size_t size;              // the network's input is size x size
  std::size_t resize_short = 0;  // resize_then_crop: the short side's length before the crop
  std::size_t crop_padding = 0;  // crop_then_resize
  Resample resample;
  // Each channel becomes (v / divisor - mean) / std in float32, v the 8-bit value.
  float divisor;
  std::array<float, 3> mean, std;
};

// ImageNet's per-channel statistics, as in torchvision's weights' transforms.
inline constexpr std::array<float, 3> imagenet_mean{0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> imagenet_std{0.229f, 0.224f, 0.225f};

// torchvision's ImageNet evaluation transform (ImageClassification, the weights' transforms();
// bilinear for most of them, bicubic for EfficientNet's).
constexpr EvalPreprocessing torchvision_imagenet_eval(std::size_t resize_short = 256,
                                                      std::size_t crop = 224,
                                                      Resample resample = Resample::bilinear) {
  return {EvalPreprocessing::Geometry::resize_then_crop,
          crop,
          resize_short,
          0,
          resample,
          255.0f,
          imagenet_mean,
          imagenet_std};
}

// `how` without its centre crop: the short side resized to how.size, then the centre
// how.size x how.size (all of a square image), with the model's filter and normalisation. For
// small, centred objects (Fashion-MNIST's) that an ImageNet crop would cut into.
constexpr EvalPreprocessing uncropped(EvalPreprocessing how) {
  how.geometry = EvalPreprocessing::Geometry::resize_then_crop;
  how.resize_short = how.size;
  return how;
}

}  // namespace strata
