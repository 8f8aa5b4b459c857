/// The name and version of this software, as written into reports.
public enum Generator {
    /// `ozgtrack`.
    public static let name = "ozgtrack"
    /// The version, following semantic versioning.
    public static let version = "0.1.0"
    /// The attribution Destatis requires wherever its territory data is used or passed on.
    public static let destatisAttribution =
        "© Daten (im Auftrag der Herausgebergemeinschaft Statistische Ämter des Bundes und der Länder) "
        + "Statistisches Bundesamt (Destatis), 2025. Vervielfältigung und Verbreitung, auch auszugsweise, "
        + "mit Quellenangabe gestattet."
}
