import{a}from"./chunk-HDHZ2JWO.js";import"./chunk-IZUYVIPG.js";export default a();
