// Links one layer's library whole, with only the layers it declares below
// it (tests/layers/CMakeLists.txt): a call into a layer above is an
// undefined reference, and the build fails.
int main() { return 0; }
