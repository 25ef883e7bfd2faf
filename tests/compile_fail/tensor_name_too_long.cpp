// Two nested Named blocks whose names together exceed Name::capacity (95 characters): cut to
// 95, several tensors would share one name.
#include <strata/strata.hpp>

namespace st = strata;
using Block = st::Sequential<
    st::Named<"a_rather_long_name_for_the_convolution_of_this_block", st::Conv2d<2, 3>>>;
using Net = st::Sequential<st::Input<1, 8, 8>,
                           st::Named<"an_equally_long_name_for_the_stage_that_holds_it", Block>>;

int main() {
  st::Model<Net> model;
  return static_cast<int>(model.parameter_count);
}
