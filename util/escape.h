/* Text from an input (a file or folder name, a CSV field, a plan's verdict), escaped for
 * the page it is written into, so that no input can add markup to the report.
 *
 *   HTML and SVG  & < > " ' as entities (&amp; &lt; &gt; &quot; &#39;): safe in text and in
 *                 quoted attributes.
 *   Markdown      \ ` < > [ ] | & escaped with a backslash (CommonMark's escapes, which
 *                 GitHub's tables also take): no input can open raw HTML, an autolink, a
 *                 link or image, or a code span, or end a table cell; a line break becomes
 *                 a space, so an input stays on its line (a cell, a heading). Emphasis
 *                 marks (* _) are left: they change the typeface at most, and escaping
 *                 every '_' would make names like T1_seg hard to read in a terminal.
 * Text the program writes itself (numbers, fixed words) needs none of this. */
#ifndef REUSENET_ESCAPE_H
#define REUSENET_ESCAPE_H

#include <stdio.h>

void html_escape(FILE *out, const char *s);
void md_escape(FILE *out, const char *s);

/* An HTML id: prefix, then name with letters, digits, '-' and '_' kept and anything else
 * as '-' ("plan-" + "a b.json" -> "plan-a-b-json"). */
void html_id(FILE *out, const char *prefix, const char *name);

#endif
