// st::load_safetensors / st::save_safetensors: parity with torchvision on the small cases of
// tests/io/golden (written by tests/io/make_safetensors_golden.py), the checks a load makes and
// their messages, dtype conversion, and atomic saving.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "golden.hpp"
#include "strata/blocks/inception.hpp"
#include "strata/blocks/mobilenet.hpp"
#include "strata/blocks/resnet.hpp"
#include "strata/io/safetensors.hpp"
#include "strata/models/efficientnet.hpp"
#include "strata/strata.hpp"
#include "temp_dir.hpp"

namespace st = strata;
namespace fs = std::filesystem;

namespace {

const fs::path golden_dir = STRATA_IO_GOLDEN_DIR;

// The reduced networks of make_safetensors_golden.py, from strata's blocks.
using In = st::Input<3, 16, 16>;
using MiniSequential =
    st::Sequential<In, st::Conv2d<8, 3, st::Pad<1>>, st::BatchNorm2d<>, st::ReLU, st::MaxPool2d<2>,
                   st::Conv2d<16, 3, st::Pad<1>>, st::ReLU, st::MaxPool2d<3, st::Stride<2>>,
                   st::Flatten, st::Dropout<50>, st::Linear<32>, st::ReLU, st::Linear<5>>;
using MiniResNet =
    st::Sequential<In, st::Named<"conv1", st::Conv2d<8, 3, st::Pad<1>, st::NoBias>>,
                   st::Named<"bn1", st::BatchNorm2d<>>, st::ReLU,
                   st::MaxPool2d<3, st::Stride<2>, st::Pad<1>>,
                   st::Named<"layer1", st::Stage<2, st::BasicBlock<8, 1>, st::BasicBlock<8, 1>>>,
                   st::Named<"layer2", st::Stage<1, st::Bottleneck<4, 2>, st::Bottleneck<4, 1>>>,
                   st::GlobalAvgPool, st::Flatten, st::Named<"fc", st::Linear<5>>>;
using MiniGoogLeNet =
    st::Sequential<In, st::Named<"conv1", st::BasicConv2d<8, 3, st::Pad<1>>>,
                   st::MaxPool2d<3, st::Stride<2>, st::CeilMode>,
                   st::Named<"inception3a", st::InceptionV1<4, 4, 8, 2, 4, 4>>, st::GlobalAvgPool,
                   st::Flatten, st::Dropout<20>, st::Named<"fc", st::Linear<5>>>;
using MiniMobileNetV2 = st::Sequential<
    In,
    st::Named<"features", st::Sequential<st::ConvBNReLU6<32, 3, 2>, st::InvertedResidual<1, 8, 1>,
                                         st::InvertedResidual<6, 16, 2>,
                                         st::InvertedResidual<6, 16, 1>, st::ConvBNReLU6<1280, 1>>>,
    st::GlobalAvgPool, st::Flatten,
    st::Named<"classifier", st::Sequential<st::Dropout<20>, st::Linear<5>>>>;
template <std::size_t Out, std::size_t K, std::size_t S>
using ConvBNSiLU = st::Sequential<st::Conv2d<Out, K, st::Stride<S>, st::Pad<K / 2>, st::NoBias>,
                                  st::BatchNorm2d<>, st::SiLU>;
using MiniEfficientNet = st::Sequential<
    In,
    st::Named<
        "features",
        st::Sequential<ConvBNSiLU<32, 3, 2>, st::Sequential<st::MBConv<1, 3, 1, 32, 16>>,
                       st::Sequential<st::MBConv<6, 5, 2, 16, 24>, st::MBConv<6, 5, 1, 24, 24>>,
                       ConvBNSiLU<96, 1, 1>>>,
    st::GlobalAvgPool, st::Flatten,
    st::Named<"classifier", st::Sequential<st::Dropout<20>, st::Linear<5>>>>;

// max |strata - reference| <= 1e-4 max |reference|: relative to the logits' scale, since single
// logits near zero have no meaningful relative error.
void check_logits(std::span<const float> got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double scale = 0, err = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::abs(want[i]));
    err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  CAPTURE(err);
  CAPTURE(scale);
  CHECK(scale > 0);
  CHECK(err <= 1e-4 * scale);
}

template <class Net>
void check_golden_case(const std::string& name) {
  CAPTURE(name);
  st::Model<Net> model{st::seed{7}};
  const st::LoadReport report = st::load_safetensors(golden_dir / (name + ".safetensors"), model);
  CHECK(report.kept.empty());
  // torchvision's state_dict has one num_batches_tracked per BatchNorm, beside its two running
  // statistics, strata's only buffers.
  CHECK(report.ignored.size() * 2 == model.buffers().size());
  for (const std::string& ignored : report.ignored) CHECK(ignored.ends_with("num_batches_tracked"));
  model.eval();
  const st::test::Golden g(golden_dir / (name + ".txt"));
  const std::vector<double>& x = g.tensor("x").values;
  const std::vector<float> input(x.begin(), x.end());
  check_logits(model.forward(input).values(), g.tensor("logits").values);
}

// A safetensors file written tensor by tensor, for malformed and foreign files.
struct RawTensor {
  std::string name, dtype;
  std::vector<std::uint64_t> shape;
  std::vector<std::uint8_t> data;
};

std::vector<std::uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<std::uint8_t> out;
  st::detail::io::append_le_floats(out, v.data(), v.size());
  return out;
}

std::vector<std::uint8_t> encode(const std::vector<RawTensor>& tensors) {
  nlohmann::ordered_json header;
  std::vector<std::uint8_t> data;
  for (const RawTensor& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.data.size()}}};
    data.insert(data.end(), t.data.begin(), t.data.end());
  }
  const std::string text = header.dump();
  std::vector<std::uint8_t> out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(text.size() >> (8 * i)));
  out.insert(out.end(), text.begin(), text.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void write_bytes(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::uint8_t> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A small network with a buffer: 0 = conv [2, 1, 3, 3] + [2], 1 = BatchNorm [2] x 4, 4 = linear.
using TinyNet = st::Sequential<st::Input<1, 5, 5>, st::Conv2d<2, 3>, st::BatchNorm2d<>, st::ReLU,
                               st::Flatten, st::Linear<3>>;

// The tensors of a model as a list that a test can edit and encode.
template <class Net>
std::vector<RawTensor> raw_tensors(st::Model<Net>& model) {
  std::vector<RawTensor> out;
  const auto add = [&](std::string_view name, const auto& dims, std::size_t rank, const float* v,
                       std::size_t size) {
    out.push_back(
        {std::string(name), "F32", {dims.begin(), dims.begin() + rank}, f32_bytes({v, v + size})});
  };
  for (const st::Parameter& p : model.parameters()) add(p.name, p.dims, p.rank, p.value, p.size);
  for (const st::Buffer& b : model.buffers()) add(b.name, b.dims, b.rank, b.value, b.size);
  return out;
}

template <class Net>
std::vector<float> all_values(st::Model<Net>& model) {
  std::vector<float> v(model.parameter_data().begin(), model.parameter_data().end());
  v.insert(v.end(), model.buffer_data().begin(), model.buffer_data().end());
  return v;
}

std::string load_error(const fs::path& file, st::Model<TinyNet>& model,
                       const st::LoadOptions& options = {}) {
  const std::vector<float> before = all_values(model);
  try {
    st::load_safetensors(file, model, options);
  } catch (const st::SafetensorsError& e) {
    CHECK(e.file() == file);
    CHECK(all_values(model) == before);  // a refused file changes nothing
    return e.what();
  }
  FAIL("the load was not refused");
  return {};
}

}  // namespace

TEST_CASE("safetensors: torchvision's blocks, eval-mode logits equal PyTorch's") {
  check_golden_case<MiniSequential>("mini_sequential");
  check_golden_case<MiniResNet>("mini_resnet");
  check_golden_case<MiniGoogLeNet>("mini_googlenet");
  check_golden_case<MiniMobileNetV2>("mini_mobilenet_v2");
  check_golden_case<MiniEfficientNet>("mini_efficientnet");
}

TEST_CASE("safetensors: save then load restores every parameter and buffer") {
  st::test::TempDir dir;
  st::Model<MiniResNet> a{st::seed{1}}, b{st::seed{2}};
  for (float& v : a.buffer_data()) v += 0.25f;  // not the initial running statistics
  st::save_safetensors(dir / "a.safetensors", a, {{"note", "round trip"}});
  REQUIRE(all_values(a) != all_values(b));
  const st::LoadReport report = st::load_safetensors(dir / "a.safetensors", b);
  CHECK(report.kept.empty());
  CHECK(report.ignored.empty());
  CHECK(all_values(a) == all_values(b));
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 1);

  // The header: metadata first, then the model's tensors in order, as F32, data 8-byte aligned.
  const std::vector<std::uint8_t> bytes = read_bytes(dir / "a.safetensors");
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= std::uint64_t{bytes[i]} << (8 * i);
  CHECK(n % 8 == 0);
  const auto header = nlohmann::ordered_json::parse(bytes.begin() + 8, bytes.begin() + 8 + n);
  CHECK(header.begin().key() == "__metadata__");
  CHECK(header["__metadata__"] == nlohmann::json{{"format", "pt"}, {"note", "round trip"}});
  std::vector<std::string> names;
  for (const auto& [key, value] : header.items())
    if (key != "__metadata__") {
      names.push_back(key);
      CHECK(value["dtype"] == "F32");
    }
  std::vector<std::string> expected;
  for (const st::Parameter& p : a.parameters()) expected.emplace_back(p.name);
  for (const st::Buffer& bf : a.buffers()) expected.emplace_back(bf.name);
  CHECK(names == expected);
  CHECK(header["layer2.0.downsample.0.weight"]["shape"] == nlohmann::json{16, 8, 1, 1});
}

TEST_CASE("safetensors: names are nn.Sequential's indices for an unnamed network") {
  st::Model<TinyNet> model;
  std::vector<std::string> names;
  for (const RawTensor& t : raw_tensors(model)) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "4.weight",
                                          "4.bias", "1.running_mean", "1.running_var"});
}

TEST_CASE("safetensors: every mismatch is named, with both shapes, and nothing is loaded") {
  st::test::TempDir dir;
  st::Model<TinyNet> source{st::seed{4}}, model{st::seed{3}};
  std::vector<RawTensor> tensors = raw_tensors(source);
  std::erase_if(tensors, [](const RawTensor& t) { return t.name.starts_with("4."); });
  tensors.push_back({"head.weight", "F32", {3, 8}, f32_bytes(std::vector<float>(24))});
  tensors.push_back({"head.bias", "F32", {3}, f32_bytes(std::vector<float>(3))});
  tensors[0].shape = {4, 1, 3, 3};
  tensors[0].data = f32_bytes(std::vector<float>(36));
  tensors[5] = {"1.running_var", "I32", {2}, std::vector<std::uint8_t>(8)};
  const fs::path file = dir / "bad.safetensors";
  write_bytes(file, encode(tensors));
  CHECK(load_error(file, model) ==
        "safetensors file '" + file.string() +
            "' does not fit this network:\n"
            "  missing from the file (2): '4.weight' [3, 18], '4.bias' [3]\n"
            "  not in the network (2): 'head.bias' [3], 'head.weight' [3, 8]\n"
            "  different shape (1): '0.weight' is [2, 1, 3, 3] in the network but [4, 1, 3, 3] "
            "in the file\n"
            "  dtype that cannot be loaded (1; strata loads F32, F64, F16 and BF16): "
            "'1.running_var' is I32\n"
            "  (LoadOptions' allow_missing and allow_unexpected accept tensors by name prefix)");
}

TEST_CASE("safetensors: LoadOptions accept missing, unexpected and reshaped tensors by prefix") {
  st::test::TempDir dir;
  st::Model<TinyNet> source{st::seed{4}};
  const fs::path file = dir / "w.safetensors";
  const auto values_of = [](st::Model<TinyNet>& m, std::size_t i) {
    const st::Parameter& p = m.parameters()[i];
    return std::vector<float>(p.value, p.value + p.size);
  };

  SUBCASE("a file without the head") {
    std::vector<RawTensor> tensors = raw_tensors(source);
    std::erase_if(tensors, [](const RawTensor& t) { return t.name.starts_with("4."); });
    write_bytes(file, encode(tensors));
    st::Model<TinyNet> model{st::seed{3}};
    CHECK(load_error(file, model, {.allow_missing = {"0."}}).find("missing from the file (2)") !=
          std::string::npos);
    const std::vector<float> head = values_of(model, 4);
    const st::LoadReport report = st::load_safetensors(file, model, {.allow_missing = {"4."}});
    CHECK(report.kept == std::vector<std::string>{"4.weight", "4.bias"});
    CHECK(report.ignored.empty());
    CHECK(values_of(model, 0) == values_of(source, 0));
    CHECK(values_of(model, 4) == head);
  }
  SUBCASE("a head for another number of classes") {
    std::vector<RawTensor> tensors = raw_tensors(source);
    tensors[4] = {"4.weight", "F32", {10, 18}, f32_bytes(std::vector<float>(180))};
    tensors[5] = {"4.bias", "F32", {10}, f32_bytes(std::vector<float>(10))};
    write_bytes(file, encode(tensors));
    st::Model<TinyNet> model{st::seed{3}};
    CHECK(load_error(file, model, {.allow_missing = {"4."}})
              .find("different shape (2): '4.weight' is [3, 18] in the network but [10, 18] in "
                    "the file, '4.bias' is [3] in the network but [10] in the file") !=
          std::string::npos);
    const std::vector<float> head = values_of(model, 4);
    const st::LoadReport report =
        st::load_safetensors(file, model, {.allow_missing = {"4."}, .allow_unexpected = {"4."}});
    CHECK(report.kept == std::vector<std::string>{"4.weight", "4.bias"});
    CHECK(report.ignored == std::vector<std::string>{"4.weight", "4.bias"});
    CHECK(values_of(model, 1) == values_of(source, 1));
    CHECK(values_of(model, 4) == head);
  }
  SUBCASE("extra tensors, and BatchNorm's num_batches_tracked") {
    std::vector<RawTensor> tensors = raw_tensors(source);
    tensors.push_back({"aux.weight", "F32", {2}, f32_bytes({1, 2})});
    tensors.push_back({"1.num_batches_tracked", "I64", {}, std::vector<std::uint8_t>(8)});
    write_bytes(file, encode(tensors));
    st::Model<TinyNet> model{st::seed{3}};
    CHECK(load_error(file, model).find("not in the network (1): 'aux.weight' [2]\n") !=
          std::string::npos);
    const st::LoadReport report = st::load_safetensors(file, model, {.allow_unexpected = {"aux"}});
    CHECK(report.kept.empty());
    CHECK(report.ignored == std::vector<std::string>{"1.num_batches_tracked", "aux.weight"});
    CHECK(all_values(model) == all_values(source));

    // Only a BatchNorm the network has may bring its counter.
    tensors.push_back({"0.num_batches_tracked", "I64", {}, std::vector<std::uint8_t>(8)});
    write_bytes(file, encode(tensors));
    CHECK(load_error(file, model, {.allow_unexpected = {"aux"}})
              .find("not in the network (1): '0.num_batches_tracked' []\n") != std::string::npos);
  }
}

TEST_CASE("safetensors: F64, F16 and BF16 are converted to float") {
  st::test::TempDir dir;
  st::Model<TinyNet> source{st::seed{4}}, model{st::seed{3}};
  std::vector<RawTensor> tensors = raw_tensors(source);
  const auto u16 = [](std::initializer_list<std::uint16_t> v) {
    std::vector<std::uint8_t> out;
    for (std::uint16_t x : v) out.insert(out.end(), {std::uint8_t(x & 0xff), std::uint8_t(x >> 8)});
    return out;
  };
  std::vector<std::uint8_t> f64;
  for (double d : {0.1, -3.0})
    for (int i = 0; i < 8; ++i)
      f64.push_back(static_cast<std::uint8_t>(std::bit_cast<std::uint64_t>(d) >> (8 * i)));
  tensors[2] = {"1.weight", "F16", {2}, u16({0x3c00, 0x0001})};         // 1, 2^-24 (subnormal)
  tensors[3] = {"1.bias", "F16", {2}, u16({0xc000, 0x7bff})};           // -2, 65504
  tensors[6] = {"1.running_mean", "BF16", {2}, u16({0x3f80, 0xc0a0})};  // 1, -5
  tensors[7] = {"1.running_var", "F64", {2}, f64};
  const fs::path file = dir / "mixed.safetensors";
  write_bytes(file, encode(tensors));
  st::load_safetensors(file, model);
  const auto values = [](float* p) { return std::vector<float>{p[0], p[1]}; };
  CHECK(values(model.parameters()[2].value) == std::vector<float>{1.0f, std::ldexp(1.0f, -24)});
  CHECK(values(model.parameters()[3].value) == std::vector<float>{-2.0f, 65504.0f});
  CHECK(values(model.buffers()[0].value) == std::vector<float>{1.0f, -5.0f});
  CHECK(values(model.buffers()[1].value) == std::vector<float>{0.1f, -3.0f});
  CHECK(values(model.parameters()[0].value) == values(source.parameters()[0].value));
}

TEST_CASE("safetensors: corrupt and truncated files are refused in words") {
  st::test::TempDir dir;
  st::Model<TinyNet> source{st::seed{4}}, model{st::seed{3}};
  const std::vector<std::uint8_t> good = encode(raw_tensors(source));
  const fs::path file = dir / "x.safetensors";
  const auto refused = [&](const std::vector<std::uint8_t>& bytes) {
    write_bytes(file, bytes);
    return load_error(file, model);
  };
  const std::string prefix = "safetensors file '" + file.string() + "' ";
  const auto with_header = [](const std::string& json, std::size_t data_size) {
    std::vector<std::uint8_t> out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(json.size() >> (8 * i)));
    out.insert(out.end(), json.begin(), json.end());
    out.resize(out.size() + data_size);
    return out;
  };

  CHECK(load_error(dir / "absent.safetensors", model) ==
        "safetensors file '" + (dir / "absent.safetensors").string() + "' cannot be opened");
  CHECK(refused({1, 2, 3}) ==
        prefix + "is truncated: it has 3 bytes, fewer than the 8 of its header length");
  CHECK(refused({0, 0, 0, 0, 0, 1, 0, 0}) ==
        prefix +
            "is not a safetensors file: its header length 1099511627776 is larger than the "
            "limit 100000000");
  const std::size_t data_bytes = (source.parameter_count + source.buffer_size) * sizeof(float);
  CHECK(refused(std::vector<std::uint8_t>(good.begin(), good.begin() + 40)) ==
        prefix + "is truncated: it has 40 bytes, fewer than its " +
            std::to_string(good.size() - 8 - data_bytes) + "-byte header needs");
  CHECK(refused(std::vector<std::uint8_t>(good.begin(), good.end() - 4)) ==
        prefix + "is truncated: tensor '1.running_var' ends at data byte " +
            std::to_string(data_bytes) + " but the file has only " +
            std::to_string(data_bytes - 4) + " bytes of data");
  std::vector<std::uint8_t> longer = good;
  longer.push_back(0);
  CHECK(refused(longer) == prefix + "is malformed: 1 bytes after the last tensor's data");
  CHECK(refused(with_header("{\"a\": [", 0)) ==
        prefix + "has a malformed header: it is not valid JSON");
  CHECK(refused(with_header("[1, 2]", 0)) ==
        prefix + "has a malformed header: it is not a JSON object");
  CHECK(refused(with_header(R"({"a": {"dtype": "F32", "shape": [2]}})", 8)) ==
        prefix + "has a malformed header: tensor 'a' has no \"data_offsets\"");
  CHECK(
      refused(with_header(R"({"a": {"dtype": "F12", "shape": [2], "data_offsets": [0, 8]}})", 8)) ==
      prefix + "has a malformed header: tensor 'a' has unknown dtype 'F12'");
  CHECK(
      refused(with_header(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8)) ==
      prefix +
          "has a malformed header: tensor 'a' has 8 bytes of data for shape [3] of F32, which "
          "needs 12");
  CHECK(refused(with_header(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                            R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                            12)) ==
        prefix +
            "is malformed: tensor 'b' starts at data byte 4, inside the previous tensor "
            "(expected 8)");
}

TEST_CASE("safetensors: a failed save leaves the target as it was") {
  st::test::TempDir dir;
  st::Model<TinyNet> model;
  const fs::path blocked = dir / "blocked.safetensors";
  fs::create_directory(blocked);
  write_bytes(blocked / "keep", {1});
  CHECK_THROWS_WITH_AS(st::save_safetensors(blocked, model),
                       doctest::Contains("cannot be saved: renaming"), st::SafetensorsError);
  CHECK(fs::exists(blocked / "keep"));
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator{}) == 1);
  CHECK_THROWS_WITH_AS(st::save_safetensors(dir / "no" / "such.safetensors", model),
                       doctest::Contains("cannot be saved: cannot create"), st::SafetensorsError);
}

TEST_CASE("safetensors: tensors are ordered by start and end, so an empty one may start a run") {
  st::test::TempDir dir;
  st::Model<TinyNet> model{st::seed{3}};
  const fs::path file = dir / "empty.safetensors";
  // 'c' is empty at [72, 72] and sorts after 'b' at [72, 80], as the reference implementation
  // orders them: by start, then by end.
  const std::string json = R"({"a": {"dtype": "F32", "shape": [18], "data_offsets": [0, 72]},)"
                           R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [72, 80]},)"
                           R"( "c": {"dtype": "F32", "shape": [0], "data_offsets": [72, 72]}})";
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<std::uint8_t>(json.size() >> (8 * i)));
  bytes.insert(bytes.end(), json.begin(), json.end());
  bytes.resize(bytes.size() + 80);
  write_bytes(file, bytes);
  const st::LoadReport report =
      st::load_safetensors(file, model, {.allow_missing = {""}, .allow_unexpected = {""}});
  CHECK(report.ignored == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("safetensors: duplicate keys, deep nesting and long lists in the header are refused") {
  st::test::TempDir dir;
  st::Model<TinyNet> model{st::seed{3}};
  const fs::path file = dir / "h.safetensors";
  const std::string prefix = "safetensors file '" + file.string() + "' has a malformed header: ";
  // Everything else is allowed, so that only the header can be the reason for a refusal.
  const st::LoadOptions anything{.allow_missing = {""}, .allow_unexpected = {""}};
  const auto write = [&](const std::string& json, std::size_t data_size) {
    std::vector<std::uint8_t> out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(json.size() >> (8 * i)));
    out.insert(out.end(), json.begin(), json.end());
    out.resize(out.size() + data_size);
    write_bytes(file, out);
  };
  const auto refused = [&](const std::string& json, std::size_t data_size) {
    write(json, data_size);
    return load_error(file, model, anything);
  };
  const std::string a = R"("a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})";
  CHECK(refused("{" + a + ", " + a + "}", 8) == prefix + "key 'a' appears twice");
  CHECK(refused(R"({"__metadata__": {}, )" + a + R"(, "__metadata__": {}})", 8) ==
        prefix + "key '__metadata__' appears twice");
  CHECK(refused(R"({"a": {"dtype": "I32", "shape": [2], "dtype": "F32", "data_offsets": [0, 8]}})",
                8) == prefix + "key 'dtype' appears twice in tensor 'a'");
  CHECK(refused(R"({"__metadata__": {"x": [[1]]}, )" + a + "}", 8) ==
        prefix + "it nests deeper than 3 levels (an object of tensors, each with a shape)");
  // Brackets in strings are text, and keys an entry does not define are ignored.
  write(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": "[[{\"]"}})", 8);
  CHECK(st::load_safetensors(file, model, anything).ignored == std::vector<std::string>{"a"});
  std::string ones = "1";
  for (int i = 0; i < 64; ++i) ones += ", 1";
  CHECK(refused(R"({"a": {"dtype": "F32", "shape": [)" + ones + R"(], "data_offsets": [0, 4]}})",
                4) == prefix + "tensor 'a' has more than 66 numbers in its shape and data_offsets");
}

TEST_CASE("safetensors: NaN and infinite values are refused unless allowed") {
  st::test::TempDir dir;
  st::Model<TinyNet> source{st::seed{4}}, model{st::seed{3}};
  std::vector<RawTensor> tensors = raw_tensors(source);
  std::vector<float> weight(source.parameters()[0].value, source.parameters()[0].value + 18);
  weight[5] = std::numeric_limits<float>::quiet_NaN();
  tensors[0].data = f32_bytes(weight);
  std::vector<std::uint8_t> f64;  // finite in F64, infinite once converted to F32
  for (double d : {1e300, -3.0})
    for (int i = 0; i < 8; ++i)
      f64.push_back(static_cast<std::uint8_t>(std::bit_cast<std::uint64_t>(d) >> (8 * i)));
  tensors[7] = {"1.running_var", "F64", {2}, f64};
  const fs::path file = dir / "nan.safetensors";
  write_bytes(file, encode(tensors));
  CHECK(load_error(file, model) ==
        "safetensors file '" + file.string() +
            "' holds values that are NaN or infinite ('0.weight' has 1 of 18, '1.running_var' has "
            "1 of 2; LoadOptions' allow_non_finite accepts them)");

  st::load_safetensors(file, model, {.allow_non_finite = true});
  CHECK(std::isnan(model.parameters()[0].value[5]));
  CHECK(std::isinf(model.buffers()[1].value[0]));
}

TEST_CASE("safetensors: a load from memory is the load from a file") {
  st::Model<TinyNet> source{st::seed{4}}, model{st::seed{3}};
  std::vector<std::uint8_t> bytes = encode(raw_tensors(source));
  st::load_safetensors_from_memory(bytes, model);
  CHECK(all_values(model) == all_values(source));
  bytes.pop_back();
  CHECK_THROWS_WITH_AS(st::load_safetensors_from_memory(bytes, model),
                       doctest::Contains("safetensors file '<memory>' is truncated"),
                       st::SafetensorsError);
  CHECK_THROWS_WITH_AS(st::load_safetensors_from_memory(bytes, model, {}, "upload.safetensors"),
                       doctest::Contains("safetensors file 'upload.safetensors' is truncated"),
                       st::SafetensorsError);
}
