import CLibXML
import Testing

@Suite("libxml2 is linked through CLibXML")
struct LibXMLLinkTests {
    @Test("parses a document in memory and frees it")
    func parsesInMemory() throws {
        let xml = "<leistung id=\"10000\">Elterngeld</leistung>"
        let document = xml.withCString { pointer in
            xmlReadMemory(pointer, Int32(xml.utf8.count), "test.xml", "UTF-8", Int32(XML_PARSE_NONET.rawValue))
        }
        let parsed = try #require(document)
        let root = try #require(xmlDocGetRootElement(parsed))
        let name = String(cString: root.pointee.name)
        #expect(name == "leistung")
        let content = try #require(xmlNodeGetContent(root))
        #expect(String(cString: content) == "Elterngeld")
        ozg_xmlFree(content)
        xmlFreeDoc(document)
    }
}
