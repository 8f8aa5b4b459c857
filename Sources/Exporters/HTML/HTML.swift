/// Escaping, number formats and the fixed parts (policy, stylesheet) of the HTML page.
enum HTML {
    /// No network loads of any kind, no scripts, no plugins, no forms, no base URL: only the inline stylesheet and
    /// `data:` images. Links (`<a href>`) still navigate when a person clicks them.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"

    /// Text for element content or a quoted attribute value: `&`, `<`, `>`, `"` and `'` become references, and
    /// characters HTML does not allow (controls other than tab and line breaks) become U+FFFD.
    static func escape(_ text: String) -> String {
        var needs = false
        for byte in text.utf8 where byte == 0x26 || byte == 0x3C || byte == 0x3E || byte == 0x22 || byte == 0x27 || byte < 0x20 || byte == 0x7F {
            needs = true
            break
        }
        guard needs else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\t", "\n": result.unicodeScalars.append(scalar)
            case "\r": result += "&#13;"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\u{FFFD}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// Whether `url` may become a link: an absolute `http` or `https` URL (case-insensitive scheme), nothing else
    /// (`javascript:`, `data:`, relative paths stay text).
    static func isWebLink(_ url: String) -> Bool {
        let lower = url.lowercased()
        return (lower.hasPrefix("http://") || lower.hasPrefix("https://")) && !url.unicodeScalars.contains { $0.value < 0x21 }
    }

    /// `1.234.567` (German digit grouping).
    static func number(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = value < 0 ? "-" : ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result += "." }
            result.append(digit)
        }
        return result
    }

    /// `12,3 %` (German decimal comma, one decimal).
    static func percent(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(number(tenths / 10)),\(abs(tenths % 10))\u{00A0}%"
    }

    /// An SVG coordinate with at most one decimal.
    static func coordinate(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// Screen and print (A4) styles; system fonts only.
    static let stylesheet = """
        :root{color-scheme:light;--ink:#1a1a1a;--muted:#555;--line:#ccc}
        *{box-sizing:border-box}
        body{margin:0 auto;max-width:70rem;padding:1rem 1.5rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:var(--ink);background:#fff}
        h1{font-size:1.6rem;margin:.2rem 0 .8rem}h2{font-size:1.3rem;margin:2rem 0 .6rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem}h3{font-size:1.08rem;margin:1.4rem 0 .4rem}
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
        p.rule{color:var(--muted);font-size:.92rem}
        .kpis{display:flex;flex-wrap:wrap;gap:.8rem}.kpi{flex:1 1 10rem;border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem}
        .kpi p{margin:0}.kpi .value{font-size:1.7rem;font-weight:700;color:#005a8c}.kpi .label{font-weight:600}.kpi .detail{color:var(--muted);font-size:.88rem}
        figure{margin:.5rem 0 1rem}svg.chart,svg.map{width:100%;height:auto;font:12px system-ui,Arial,sans-serif}svg.map{max-height:46rem}
        figcaption{font-size:.9rem;color:var(--muted)}.key{display:inline-flex;align-items:center;gap:.3rem;margin-right:.8rem}
        .tick{display:inline-block;width:2px;height:12px;background:#000}
        div.wide{overflow-x:auto}table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-size:.9rem}caption{text-align:left;font-weight:600;padding:.3rem 0}
        th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .4rem;text-align:left;vertical-align:top}thead th{border-bottom:2px solid #999;background:#f4f6f8}
        tbody th{font-weight:normal}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        td.url,td.note{overflow-wrap:anywhere;max-width:18rem}td.s-online{color:#00603f;font-weight:600}
        path.u{stroke:#fff;stroke-width:.6;vector-effect:non-scaling-stroke}path.ctx{fill:#e8e8e8;stroke:#fff;stroke-width:.6;vector-effect:non-scaling-stroke}
        path.outline{fill:none;stroke:#333;stroke-width:1.2;vector-effect:non-scaling-stroke;pointer-events:none}path.u:hover{stroke:#000;stroke-width:1.5}
        footer{margin-top:2rem;border-top:1px solid var(--line);font-size:.88rem;color:var(--muted)}footer h2{font-size:1rem;border:0}
        a{color:#005a8c}
        @media print{
        @page{size:A4;margin:14mm 12mm}
        body{max-width:none;padding:0;font-size:10pt}
        main>section{break-before:page}main>section:first-child{break-before:auto}
        h2,h3{break-after:avoid}tr,figure,.kpi{break-inside:avoid}thead{display:table-header-group}
        a{color:inherit;text-decoration:none}svg.map{max-height:24cm}
        }
        """
}
