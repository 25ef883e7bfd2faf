// Compile-only: Model<Net, cuda> built by nvcc for every zoo model but EfficientNet-B1..B7 and
// Lite1..4 (efficientnet.cu says why) and DenseNet (not yet timed under nvcc), with the auxiliary
// heads where a family has them. Explicit instantiation compiles every member (forward, backward,
// the staging functions) and with them every layer's kernels at the model's shapes, on the device;
// running them is the GPU tests' part. One translation unit per family, so that a family's deeper
// and wider variants reuse the layer instantiations of its first member and the families compile in
// parallel (the whole zoo in one unit ran past 14 minutes on 2 cores).
int main() {
  return 0;
}
