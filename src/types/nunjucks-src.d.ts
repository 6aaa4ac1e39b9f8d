// nunjucks' internal modules used by the template parser (src/template/parser.ts); untyped.
declare module 'nunjucks/src/lexer.js' {
  const lexer: any
  export default lexer
}
declare module 'nunjucks/src/parser.js' {
  const parser: any
  export default parser
}
declare module 'nunjucks/src/nodes.js' {
  const nodes: any
  export default nodes
}
