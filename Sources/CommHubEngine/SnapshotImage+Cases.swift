import CommHubDomain
import Foundation

/// The supervisor's records of templates in use, merged and split threads
/// and satisfaction surveys, in a snapshot: lists sorted by id, so equal
/// states give equal images.
public struct CasesImage: Codable, Sendable, Hashable {
    public struct SimilarUses: Codable, Sendable, Hashable {
        public var similarity: TemplateSimilarity
        public var template: TemplateID
        public var count: Int
    }
    public struct Link: Codable, Sendable, Hashable {
        public var from: ThreadID
        public var to: ThreadID
    }

    public var pendingTemplateUses: [TemplateAttachment]
    public var similarUses: [SimilarUses]
    public var mergedInto: [Link]
    public var splitFrom: [Link]
    public var csat: [CSATRecord]

    init(_ s: EngineState) {
        pendingTemplateUses = s.templateUsage.pending.values.sorted { $0.message < $1.message }
        similarUses = s.templateUsage.similar.flatMap { key, counts in
            counts.map { SimilarUses(similarity: key, template: $0.key, count: $0.value) }
        }.sorted { ($0.template, $0.similarity.threadType.rawValue, $0.similarity.brand?.rawValue ?? "")
            < ($1.template, $1.similarity.threadType.rawValue, $1.similarity.brand?.rawValue ?? "") }
        mergedInto = s.threadLinks.mergedInto.map { Link(from: $0.key, to: $0.value) }.sorted { $0.from < $1.from }
        splitFrom = s.threadLinks.splitFrom.map { Link(from: $0.key, to: $0.value) }.sorted { $0.from < $1.from }
        csat = s.csat.values.sorted { $0.request.thread < $1.request.thread }
    }

    func restore(into s: inout EngineState) {
        for a in pendingTemplateUses { s.templateUsage.pending[a.message] = a }
        for u in similarUses where u.count >= 0 { s.templateUsage.similar[u.similarity, default: [:]][u.template] = u.count }
        for l in mergedInto { s.threadLinks.mergedInto[l.from] = l.to }
        for l in splitFrom { s.threadLinks.splitFrom[l.from] = l.to }
        for r in csat { s.csat[r.request.thread] = r }
    }
}
