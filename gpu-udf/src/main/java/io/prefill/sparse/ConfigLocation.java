package io.prefill.sparse;

/** Where in a config file a value sits, so errors say "file: layer 3, head 7: ...". */
record ConfigLocation(String file, String place) {

    static ConfigLocation file(String file) { return new ConfigLocation(file, ""); }

    ConfigLocation layer(int layer) { return new ConfigLocation(file, "layer " + layer); }

    ConfigLocation head(String head) { return new ConfigLocation(file, place + ", head " + head); }

    ConfigLocation field(String name) { return new ConfigLocation(file, place.isEmpty() ? name : place + ", " + name); }

    PatternConfigException error(String what) {
        return new PatternConfigException(file + ": " + (place.isEmpty() ? "" : place + ": ") + what);
    }
}
