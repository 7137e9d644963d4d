// Receipt page (polls/receipt.html): the "copy" and "print" buttons need JavaScript, so they start
// hidden and this file shows them. Without JavaScript the page offers the text file download, and the
// browser's own print command prints the code (see the print rules in site.css).
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const field = document.createElement("textarea");
  field.value = text;
  field.setAttribute("readonly", "");
  field.className = "visually-hidden";
  document.body.appendChild(field);
  field.select();
  const copied = document.execCommand("copy");
  field.remove();
  return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("receipt-status");
  for (const button of document.querySelectorAll("[data-receipt-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
  for (const button of document.querySelectorAll("[data-receipt-copy]")) {
    const source = document.getElementById(button.dataset.receiptCopy);
    if (!source) continue;
    button.hidden = false;
    button.addEventListener("click", () => {
      copyText(source.textContent.trim()).then(() => {
        if (status) status.textContent = button.dataset.copied;
      }, () => {
        window.getSelection().selectAllChildren(source);
      });
    });
  }
});
